// The create feature's calls, one hook each.
import { useMutation, useQuery } from "@connectrpc/connect-query";
import { SongStatus } from "@/gen/neutone/v1/song_pb";
import { SongService } from "@/gen/neutone/v1/song_service_pb";

export function useCreateSong() {
  return useMutation(SongService.method.createSong);
}

/** The planner's style, lyrics and title for a description: free, nothing stored. */
export function useSuggestLyrics() {
  return useMutation(SongService.method.suggestLyrics);
}

/** One's ready songs, to start from. */
export function useReadySongs() {
  return useQuery(SongService.method.listMySongs, { pageSize: 100, status: SongStatus.READY });
}

export function useSongToReuse(songId: string | null) {
  return useQuery(SongService.method.getSong, { songId: songId ?? "" }, { enabled: Boolean(songId) });
}
