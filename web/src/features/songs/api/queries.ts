// Every call the songs feature makes, one hook each, on the generated Connect
// client through connect-query: answers live in the query cache.
import { useInfiniteQuery, useMutation, useQuery } from "@connectrpc/connect-query";
import { skipToken, type InfiniteData } from "@tanstack/react-query";
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { SongMode, SongStatus, SongTask, type Song } from "@/gen/neutone/v1/song_pb";
import {
  FeedOrder,
  MySongsOrder,
  SongService,
  type CreateSongResponse,
} from "@/gen/neutone/v1/song_service_pb";

export const PAGE_SIZE = 20;

/** The songs of every page loaded so far. */
export function songsOf(data: InfiniteData<{ songs: Song[] }> | undefined): Song[] {
  return data?.pages.flatMap((page) => page.songs) ?? [];
}

const paging = {
  pageParamKey: "pageToken",
  getNextPageParam: (last: { nextPageToken: string }) => last.nextPageToken || undefined,
} as const;

export function useSong(songId: string) {
  return useQuery(SongService.method.getSong, { songId });
}

export function useCategories() {
  return useQuery(SongService.method.listCategories, {}, { staleTime: Infinity });
}

export function useFeed(category: string, order: FeedOrder) {
  return useInfiniteQuery(
    SongService.method.listFeed,
    { pageSize: PAGE_SIZE, pageToken: "", category, order },
    paging,
  );
}

export interface MySongsFilter {
  text: string;
  status: SongStatus;
  order: MySongsOrder;
}

export function useMySongs({ text, status, order }: MySongsFilter) {
  return useInfiniteQuery(
    SongService.method.listMySongs,
    { pageSize: PAGE_SIZE, pageToken: "", textFilter: text, status, order },
    paging,
  );
}

export function useLikedSongs() {
  return useInfiniteQuery(
    SongService.method.listLikedSongs,
    { pageSize: PAGE_SIZE, pageToken: "" },
    paging,
  );
}

/** Published songs matching `query`; nothing is asked while it is blank. */
export function useSearchSongs(query: string) {
  const words = query.trim();
  return useInfiniteQuery(
    SongService.method.searchSongs,
    words ? { query: words, pageSize: PAGE_SIZE, pageToken: "" } : skipToken,
    { ...paging, placeholderData: (previous) => previous },
  );
}

export function useDerivedSongs(songId: string) {
  return useQuery(SongService.method.listDerivedSongs, { songId, pageSize: 20 });
}

/** Like or unlike (the lists are asked again, as after every change). */
export function useToggleLike() {
  const like = useMutation(SongService.method.likeSong);
  const unlike = useMutation(SongService.method.unlikeSong);
  return {
    isPending: like.isPending || unlike.isPending,
    async toggle(song: Song, liked: boolean): Promise<bigint> {
      const reply = liked
        ? await unlike.mutateAsync({ songId: song.id })
        : await like.mutateAsync({ songId: song.id });
      return reply.likeCount;
    },
  };
}

export type Editable = Pick<Song, "title" | "published" | "remixAllowed">;

export function useUpdateSong() {
  const mutation = useMutation(SongService.method.updateSong);
  return {
    ...mutation,
    update(songId: string, paths: string[], values: Partial<Editable>) {
      return mutation.mutateAsync({
        song: { id: songId, ...values },
        updateMask: create(FieldMaskSchema, { paths }),
      });
    },
  };
}

export function useDeleteSong() {
  return useMutation(SongService.method.deleteSong);
}

export function useSongDownload() {
  return useMutation(SongService.method.getSongDownload);
}

/** Makes a failed song again from what it was asked with (a new request, one
 * credit, refunded again if it fails). Only songs made from words can be. */
export function useRetrySong() {
  const mutation = useMutation(SongService.method.createSong);
  return {
    isPending: mutation.isPending,
    canRetry: (song: Song) =>
      !song.lineage || song.lineage.task === SongTask.TEXT_TO_MUSIC || song.lineage.task === SongTask.UNSPECIFIED,
    mutate(
      song: Song,
      callbacks: { onSuccess(reply: CreateSongResponse): void; onError(error: unknown): void },
    ) {
      mutation.mutate(
        {
          mode:
            song.mode === SongMode.DESCRIPTION
              ? { case: "description", value: song.description }
              : song.mode === SongMode.DESCRIBED_LYRICS
                ? { case: "describedLyrics", value: { prompt: song.prompt, lyricsDescription: song.lyricsInput } }
                : { case: "customLyrics", value: { prompt: song.prompt, lyrics: song.lyricsInput } },
          instrumental: song.instrumental,
          params: song.params,
          controls: song.controls,
          takes: 1,
          idempotencyKey: crypto.randomUUID(),
        },
        callbacks,
      );
    },
  };
}
