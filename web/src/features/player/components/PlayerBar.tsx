// The bar along the bottom of every page while something is queued: what plays,
// by whom, play/pause, previous/next, a seek slider and the volume. On a phone or
// tablet it sits on the tab bar; on a wide screen, on the bottom of the screen.
import { Link } from "react-router";
import { Pause, Play, SkipBack, SkipForward, Volume2, VolumeX } from "lucide-react";
import { formatSeconds } from "@/lib/format";
import { useNowPlaying, usePlaybackTime, usePlayer } from "../PlayerProvider";

export function PlayerBar() {
  const now = useNowPlaying();
  const controls = usePlayer();
  const time = usePlaybackTime();
  const song = now.song;
  if (!song) return null;
  const title = song.title || "Untitled song";
  return (
    <section
      aria-label="Player"
      className="fixed inset-x-0 bottom-(--tab-bar-height) z-40 lg:bottom-0 border-t border-line bg-surface/95 backdrop-blur supports-[backdrop-filter]:bg-surface/80"
    >
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-1 px-3 py-2 sm:flex-nowrap">
        <div className="flex min-w-0 flex-1 items-center gap-3 sm:w-64 sm:flex-none">
          {now.cover ? (
            <img src={now.cover} alt="" className="size-12 flex-none rounded-md object-cover" />
          ) : (
            <div className="size-12 flex-none rounded-md bg-raised" />
          )}
          <div className="min-w-0">
            <Link to={`/songs/${song.id}`} className="block truncate font-semibold text-ink no-underline hover:underline">
              {title}
            </Link>
            <Link to={`/artists/${song.ownerId}`} className="block truncate text-sm text-muted no-underline hover:underline">
              {song.ownerDisplayName}
            </Link>
          </div>
        </div>
        <div className="flex items-center gap-1">
          <IconButton label="Previous" onClick={controls.previous}>
            <SkipBack aria-hidden className="size-5" />
          </IconButton>
          <button
            type="button"
            className="icon primary size-11 rounded-full"
            aria-label={now.playing ? `Pause ${title}` : `Play ${title}`}
            onClick={() => controls.toggle()}
          >
            {now.playing ? <Pause aria-hidden className="size-5" /> : <Play aria-hidden className="size-5" />}
          </button>
          <IconButton label="Next" onClick={controls.next} disabled={!now.hasNext}>
            <SkipForward aria-hidden className="size-5" />
          </IconButton>
        </div>
        <div className="order-last flex w-full items-center gap-2 text-xs tabular-nums text-muted sm:order-none sm:w-auto sm:flex-1">
          <span aria-hidden>{formatSeconds(time.current)}</span>
          <input
            type="range"
            className="seek flex-1"
            aria-label="Seek"
            aria-valuetext={`${formatSeconds(time.current)} of ${formatSeconds(time.duration)}`}
            min={0}
            max={time.duration || 0}
            step={0.1}
            value={time.current}
            onChange={(event) => controls.seek(Number(event.target.value))}
          />
          <span aria-hidden>{formatSeconds(time.duration)}</span>
        </div>
        <div className="hidden items-center gap-2 md:flex">
          <IconButton
            label={now.volume === 0 ? "Unmute" : "Mute"}
            onClick={() => controls.setVolume(now.volume === 0 ? 1 : 0)}
          >
            {now.volume === 0 ? <VolumeX aria-hidden className="size-5" /> : <Volume2 aria-hidden className="size-5" />}
          </IconButton>
          <input
            type="range"
            className="seek w-24"
            aria-label="Volume"
            min={0}
            max={1}
            step={0.05}
            value={now.volume}
            onChange={(event) => controls.setVolume(Number(event.target.value))}
          />
        </div>
        {now.error && (
          <p role="alert" className="w-full text-sm text-danger">
            {now.error}
          </p>
        )}
      </div>
    </section>
  );
}

function IconButton({
  label,
  onClick,
  disabled,
  children,
}: {
  label: string;
  onClick(): void;
  disabled?: boolean;
  children: React.ReactNode;
}) {
  return (
    <button type="button" className="icon ghost" aria-label={label} title={label} onClick={onClick} disabled={disabled}>
      {children}
    </button>
  );
}
