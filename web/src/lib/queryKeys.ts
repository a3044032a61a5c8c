// Reading connect-query's cache keys: ["connect-query", { methodName, ... }].
import type { QueryKey } from "@tanstack/react-query";

/** The RPC a cached answer came from ("GetSong"), if it came from one. */
export function methodOf(key: QueryKey): string | undefined {
  const options = key[1];
  if (typeof options !== "object" || options === null || !("methodName" in options)) return undefined;
  return String(options.methodName);
}
