// Plays a READY song through its time-limited media URLs; the first play is
// counted (RecordPlay).
import { useRef, useState } from "react";
import { songs } from "../api";
import type { Song } from "../gen/neutone/v1/song_pb";
import type { SongMedia } from "../songs";

interface PlayerProps {
  song: Song;
  // The song's media URLs (useSongMedia), shared with whatever else shows them.
  media: SongMedia;
  onPlayed?(count: bigint): void;
}

export function Player({ song, media: { media, error }, onPlayed }: PlayerProps) {
  const [duration, setDuration] = useState<number>();
  const counted = useRef(false);

  function played() {
    if (counted.current) return;
    counted.current = true;
    songs
      .recordPlay({ songId: song.id })
      .then((reply) => onPlayed?.(reply.playCount))
      .catch(console.error);
  }

  if (error) return <p className="error">Cannot play this song: {error}</p>;
  if (!media) return <p className="muted">Loading the player…</p>;
  return (
    <div className="player">
      <img src={media.cover} alt={`Cover of ${song.title}`} width={96} height={96} />
      <div>
        <audio
          controls
          preload="metadata"
          src={media.audio}
          aria-label={`Play ${song.title}`}
          onPlay={played}
          onLoadedMetadata={(e) => setDuration(e.currentTarget.duration)}
          data-duration={duration}
        />
        {duration !== undefined && Number.isFinite(duration) && (
          <small className="muted">{formatSeconds(duration)}</small>
        )}
      </div>
    </div>
  );
}

export function formatSeconds(total: number): string {
  const minutes = Math.floor(total / 60);
  const seconds = Math.round(total % 60);
  return `${minutes}:${String(seconds).padStart(2, "0")}`;
}
