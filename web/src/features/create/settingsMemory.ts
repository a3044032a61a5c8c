// The Create form remembers the last settings a song was made with (not its
// words), so the next song starts from them.

const KEY = "neutone.create.settings";

export interface RememberedSettings {
  duration: string;
  guidance: string;
  steps: string;
  takes: string;
  bpm: string;
  keyScale: string;
  timeSignature: string;
  language: string;
}

export function recall(defaults: RememberedSettings): RememberedSettings {
  try {
    const saved = JSON.parse(localStorage.getItem(KEY) ?? "{}") as Partial<RememberedSettings>;
    const known = Object.fromEntries(
      Object.entries(saved).filter(([name, value]) => name in defaults && typeof value === "string"),
    );
    return { ...defaults, ...known };
  } catch {
    return defaults;
  }
}

export function remember(settings: RememberedSettings): void {
  localStorage.setItem(KEY, JSON.stringify(settings));
}
