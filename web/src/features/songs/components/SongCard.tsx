// One song in a grid: its cover first, with a play button that plays the grid
// from it; the title and artist; live status while it is being made; likes and
// plays once published.
import { useState } from "react";
import { Link } from "react-router";
import { Heart, Headphones } from "lucide-react";
import { problemOf } from "@/lib/api";
import { formatCount, formatCountOf } from "@/lib/format";
import { SongStatus, type Song } from "@/gen/neutone/v1/song_pb";
import { useSession } from "@/features/auth";
import { PlayButton } from "@/features/player";
import { useSongMedia, useWatchedSong, workLabel } from "../api/songs";
import { useToggleLike } from "../api/queries";
import { StatusLine } from "./SongStatus";
import { Cover } from "./Cover";

interface SongCardProps {
  song: Song;
  showOwner: boolean;
  // The list the card is in: playing the card plays the list from it.
  queue?: Song[];
}

export function SongCard({ song: initial, showOwner, queue }: SongCardProps) {
  const progress = useWatchedSong(initial);
  const song = progress.song;
  const ready = song.status === SongStatus.READY;
  const { media } = useSongMedia(song.id, ready);
  const title = song.title || "Untitled song";
  return (
    <article className="group grid content-start gap-2" aria-labelledby={`title-${song.id}`}>
      <div className="relative">
        <Cover url={media?.cover} seed={song.id} />
        {ready && (
          <PlayButton
            song={song}
            queue={queue}
            className="absolute bottom-2 right-2 opacity-95 transition group-hover:scale-105"
          />
        )}
      </div>
      <div className="min-w-0">
        <h2 id={`title-${song.id}`} className="m-0 truncate text-base font-semibold">
          <Link to={`/songs/${song.id}`} className="text-ink no-underline hover:underline">
            {title}
          </Link>
        </h2>
        {showOwner && (
          <p className="m-0 truncate text-sm text-muted">
            by <ArtistLink song={song} />
          </p>
        )}
        <div className="mt-1 flex flex-wrap items-center gap-1">
          {workLabel(song) && <span className="badge">{workLabel(song)}</span>}
          {song.categories.length > 0 && (
            <ul className="tags m-0" aria-label="Categories">
              {song.categories.map((category) => (
                <li key={category}>{category}</li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <StatusLine progress={progress} />
      {song.published && (
        <footer className="flex items-center gap-3 text-sm text-muted">
          <LikeButton song={song} />
          <span className="inline-flex items-center gap-1">
            <Headphones aria-hidden className="size-4" /> {formatCountOf(song.playCount, "play")}
          </span>
        </footer>
      )}
    </article>
  );
}

/** The artist's name, leading to their page. */
export function ArtistLink({ song }: { song: Song }) {
  return (
    <Link to={`/artists/${song.ownerId}`} className="text-muted hover:text-ink">
      {song.ownerDisplayName}
    </Link>
  );
}

export function LikeButton({ song }: { song: Song }) {
  const { user } = useSession();
  const [liked, setLiked] = useState(song.likedByCaller);
  const [count, setCount] = useState(song.likeCount);
  const [error, setError] = useState<string>();
  const likes = useToggleLike();

  async function toggle() {
    setError(undefined);
    try {
      setCount(await likes.toggle(song, liked));
      setLiked(!liked);
    } catch (err) {
      setError(problemOf(err).message);
    }
  }

  return (
    <>
      <button
        type="button"
        className="like secondary min-h-9 px-3 py-1 text-sm"
        aria-pressed={liked}
        disabled={!user || likes.isPending}
        title={user ? undefined : "Sign in to like songs"}
        onClick={toggle}
        // The count shown is a word of the name, as assistive speech and voice control expect.
        aria-label={`${liked ? "Unlike" : "Like"} ${song.title}, ${formatCountOf(count, "like")}`}
      >
        <Heart aria-hidden className={`size-4 ${liked ? "fill-current" : ""}`} /> {formatCount(count)}
      </button>
      {error && (
        <small className="error" role="alert">
          {error}
        </small>
      )}
    </>
  );
}
