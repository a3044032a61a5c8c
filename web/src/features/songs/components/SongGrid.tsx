// A paged list of songs as a grid of cards, with "More songs" while the server
// has more. Playing a card plays the loaded list from it.
import type { InfiniteData, UseInfiniteQueryResult } from "@tanstack/react-query";
import type { ConnectError } from "@connectrpc/connect";
import { ErrorBanner } from "@/components/Field";
import { LoadMore } from "@/components/LoadMore";
import { problemOf } from "@/lib/api";
import type { Song } from "@/gen/neutone/v1/song_pb";
import { songsOf } from "../api/queries";
import { SongCard } from "./SongCard";

interface SongGridProps {
  query: UseInfiniteQueryResult<InfiniteData<{ songs: Song[] }>, ConnectError>;
  showOwner: boolean;
  empty: React.ReactNode;
  label?: string;
}

export function SongGrid({ query, showOwner, empty, label }: SongGridProps) {
  const list = songsOf(query.data);
  if (query.error) return <ErrorBanner message={problemOf(query.error).message} />;
  if (query.isPending) return <p className="muted">Loading…</p>;
  return (
    <>
      {list.length === 0 ? (
        empty
      ) : (
        <div className="grid-cards" aria-label={label} role={label ? "region" : undefined}>
          {list.map((song) => (
            <SongCard key={song.id} song={song} showOwner={showOwner} queue={list} />
          ))}
        </div>
      )}
      <LoadMore query={query} label="More songs" className="mt-6 text-center" />
    </>
  );
}
