// One song in a list: cover/player when ready, live status while generating,
// likes and plays for published songs.
import { useState } from "react";
import { problemOf, songs } from "../api";
import { SongStatus, type Song } from "../gen/neutone/v1/song_pb";
import { onLinkClick } from "../router";
import { useSession } from "../session";
import { useSongMedia, useWatchedSong, workLabel } from "../songs";
import { Player } from "./Player";
import { StatusLine } from "./SongStatus";

export function SongCard({ song: initial, showOwner }: { song: Song; showOwner: boolean }) {
  const progress = useWatchedSong(initial);
  const song = progress.song;
  const [plays, setPlays] = useState(song.playCount);
  const ready = song.status === SongStatus.READY;
  const media = useSongMedia(song.id, ready);
  return (
    <article className="card" aria-labelledby={`title-${song.id}`}>
      <header>
        <h3 id={`title-${song.id}`}>
          <a href={`/songs/${song.id}`} onClick={onLinkClick}>
            {song.title || "Untitled song"}
          </a>
        </h3>
        {showOwner && <p className="muted">by {song.ownerDisplayName}</p>}
        {workLabel(song) && <span className="badge">{workLabel(song)}</span>}
        {song.categories.length > 0 && (
          <ul className="tags" aria-label="Categories">
            {song.categories.map((category) => (
              <li key={category}>{category}</li>
            ))}
          </ul>
        )}
      </header>
      <StatusLine progress={progress} />
      {ready && <Player song={song} media={media} onPlayed={setPlays} />}
      {song.published && (
        <footer className="counts">
          <LikeButton song={song} />
          <span aria-label={`${plays} plays`}>▶ {plays.toString()} plays</span>
        </footer>
      )}
    </article>
  );
}

export function LikeButton({ song }: { song: Song }) {
  const { user } = useSession();
  const [liked, setLiked] = useState(song.likedByCaller);
  const [count, setCount] = useState(song.likeCount);
  const [error, setError] = useState<string>();

  async function toggle() {
    setError(undefined);
    try {
      const reply = liked
        ? await songs.unlikeSong({ songId: song.id })
        : await songs.likeSong({ songId: song.id });
      setLiked(!liked);
      setCount(reply.likeCount);
    } catch (err) {
      setError(problemOf(err).message);
    }
  }

  return (
    <>
      <button
        type="button"
        className="like"
        aria-pressed={liked}
        disabled={!user}
        title={user ? undefined : "Sign in to like songs"}
        onClick={toggle}
        aria-label={`${liked ? "Unlike" : "Like"} ${song.title} (${count} likes)`}
      >
        {liked ? "♥" : "♡"} {count.toString()}
      </button>
      {error && (
        <small className="error" role="alert">
          {error}
        </small>
      )}
    </>
  );
}
