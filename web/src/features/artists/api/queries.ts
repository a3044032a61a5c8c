// The artist feature's calls, one hook each.
import { useInfiniteQuery, useQuery } from "@connectrpc/connect-query";
import { SongService } from "@/gen/neutone/v1/song_service_pb";

export function useArtist(artistId: string) {
  return useQuery(SongService.method.getArtist, { artistId }, { retry: false });
}

export function useArtistSongs(artistId: string) {
  return useInfiniteQuery(
    SongService.method.listArtistSongs,
    { artistId, pageSize: 20, pageToken: "" },
    { pageParamKey: "pageToken", getNextPageParam: (last) => last.nextPageToken || undefined },
  );
}
