// Signed media URLs work until their expire_time: the cache keeps a
// GetSongMedia answer until shortly before then, and asks again after.
import type { GetSongMediaResponse } from "@/gen/neutone/v1/song_service_pb";

// Long enough to start playing a URL fetched just before it expires.
const MARGIN_MS = 15_000;

/** A query's staleTime: how long its (cached) answer stays usable. */
export function mediaStaleTime(query: { state: { data?: GetSongMediaResponse } }): number {
  const expires = query.state.data?.expireTime;
  if (!expires) return 0;
  return Math.max(0, Number(expires.seconds) * 1000 - Date.now() - MARGIN_MS);
}
