// Style words to add to a prompt with one tap, grouped as people reach for them.
export const STYLE_TAGS = [
  "pop",
  "synth-pop",
  "lo-fi",
  "hip hop",
  "rock",
  "indie folk",
  "jazz",
  "r&b",
  "edm",
  "ambient",
  "cinematic",
  "upbeat",
  "melancholic",
  "dreamy",
  "female vocals",
  "male vocals",
];

/** Whether `tag` is already one of the prompt's comma-separated parts. */
export function hasTag(prompt: string, tag: string): boolean {
  return prompt
    .split(",")
    .map((part) => part.trim().toLowerCase())
    .includes(tag);
}

/** The prompt with `tag` added at the end, or taken out when it is there. */
export function toggleTag(prompt: string, tag: string): string {
  const parts = prompt
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  const kept = parts.filter((part) => part.toLowerCase() !== tag);
  return (kept.length === parts.length ? [...parts, tag] : kept).join(", ");
}
