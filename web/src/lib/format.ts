// Formatting shared by the features.

/** "1:05" for 65 seconds; "0:00" for anything not a finite number. */
export function formatSeconds(total: number): string {
  if (!Number.isFinite(total) || total < 0) return "0:00";
  const minutes = Math.floor(total / 60);
  const seconds = Math.floor(total % 60);
  return `${minutes}:${String(seconds).padStart(2, "0")}`;
}

/** "1.2K" for 1234 plays; counts arrive as int64 (bigint). */
export function formatCount(count: bigint | number): string {
  return new Intl.NumberFormat("en", { notation: "compact" }).format(Number(count));
}

/** "1 play", "12 plays", "1.2K plays": a count with its noun, singular for one. */
export function formatCountOf(count: bigint | number, noun: string): string {
  return `${formatCount(count)} ${Number(count) === 1 ? noun : `${noun}s`}`;
}
