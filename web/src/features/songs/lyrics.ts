// Lyrics as sections: "[verse]" / "[chorus]" tags start a section, named after
// the tag; lines before any tag form an unnamed one.

export interface LyricSection {
  name: string;
  lines: string[];
}

const TAG = /^\s*\[([^\]]+)\]\s*$/;

function sectionName(tag: string): string {
  const name = tag.trim().replace(/[-_]+/g, " ");
  return name.charAt(0).toUpperCase() + name.slice(1);
}

export function lyricSections(lyrics: string): LyricSection[] {
  const sections: LyricSection[] = [];
  let current: LyricSection | undefined;
  for (const line of lyrics.split(/\r?\n/)) {
    const tag = line.match(TAG);
    if (tag) {
      current = { name: sectionName(tag[1]), lines: [] };
      sections.push(current);
      continue;
    }
    if (!current) {
      if (line.trim() === "") continue;
      current = { name: "", lines: [] };
      sections.push(current);
    }
    current.lines.push(line);
  }
  // Blank lines at a section's edges are spacing, not lyrics.
  return sections
    .map((section) => ({ ...section, lines: trimBlank(section.lines) }))
    .filter((section) => section.lines.length > 0);
}

function trimBlank(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && lines[start].trim() === "") start++;
  while (end > start && lines[end - 1].trim() === "") end--;
  return lines.slice(start, end);
}
