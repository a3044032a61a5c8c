// The one player of the app: a single <audio> element that lives above the
// routes, so music keeps playing while the person navigates. It plays a queue
// (a feed played from one of its cards), fetches each song's time-limited media
// URL when its turn comes, counts one play per listen (RecordPlay), and speaks
// to the operating system's media controls (Media Session).
import { createContext, useContext, useEffect, useMemo, useRef, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { callUnaryMethod, createQueryOptions, useTransport } from "@connectrpc/connect-query";
import { mediaStaleTime } from "@/lib/media";
import type { Song } from "@/gen/neutone/v1/song_pb";
import { SongService } from "@/gen/neutone/v1/song_service_pb";

export interface PlayerControls {
  /** Plays `queue` from `index` (a feed played from one of its cards). */
  playQueue(queue: Song[], index: number): void;
  /** Plays or pauses `song`: resumes it when it is the current one. */
  toggle(song?: Song): void;
  next(): void;
  previous(): void;
  seek(seconds: number): void;
  setVolume(volume: number): void;
}

export interface NowPlaying {
  song: Song | undefined;
  cover: string | undefined;
  playing: boolean;
  hasNext: boolean;
  hasPrevious: boolean;
  volume: number;
  error: string | undefined;
}

export interface PlaybackTime {
  current: number;
  duration: number;
}

const ControlsContext = createContext<PlayerControls | null>(null);
const NowPlayingContext = createContext<NowPlaying | null>(null);
// Apart from the rest: only the bar and the waveform redraw several times a second.
const TimeContext = createContext<PlaybackTime>({ current: 0, duration: 0 });

const VOLUME_KEY = "neutone.volume";
// Back to the start of the song instead of the previous one after this long.
const RESTART_AFTER_SECONDS = 3;

export function PlayerProvider({ children }: { children: React.ReactNode }) {
  const audio = useRef<HTMLAudioElement>(null);
  const client = useQueryClient();
  const transport = useTransport();
  const [queue, setQueue] = useState<Song[]>([]);
  const [index, setIndex] = useState(0);
  const [playing, setPlaying] = useState(false);
  const [cover, setCover] = useState<string>();
  // The song whose audio the element holds (a test and a debugging aid).
  const [loaded, setLoaded] = useState<string>();
  const [error, setError] = useState<string>();
  const [time, setTime] = useState<PlaybackTime>({ current: 0, duration: 0 });
  const [volume, setVolumeState] = useState(() => Number(localStorage.getItem(VOLUME_KEY) ?? 1));
  // The song whose listen has been counted since it was last loaded.
  const counted = useRef<string | undefined>(undefined);
  const song = queue[index];

  // Load the current song's media whenever it changes, then play it.
  useEffect(() => {
    const element = audio.current;
    if (!song || !element) return;
    let live = true;
    setError(undefined);
    counted.current = undefined;
    client
      .fetchQuery(
        {
          ...createQueryOptions(SongService.method.getSongMedia, { songId: song.id }, { transport }),
          staleTime: mediaStaleTime,
        },
      )
      .then((media) => {
        if (!live) return;
        setCover(media.coverUrl);
        element.src = media.audioUrl;
        setLoaded(song.id);
        return element.play();
      })
      .catch((reason: unknown) => live && setError(String(reason)));
    return () => {
      live = false;
    };
  }, [song, client, transport]);

  useEffect(() => {
    if (audio.current) audio.current.volume = volume;
    localStorage.setItem(VOLUME_KEY, String(volume));
  }, [volume]);

  const controls = useMemo<PlayerControls>(
    () => ({
      playQueue(next, at) {
        const element = audio.current;
        if (next[at] && next[at].id === song?.id && element) {
          element.play().catch(() => undefined);
          return;
        }
        setQueue(next);
        setIndex(at);
      },
      toggle(target) {
        const element = audio.current;
        if (!element) return;
        if (target && target.id !== song?.id) {
          setQueue([target]);
          setIndex(0);
        } else if (element.paused) element.play().catch(() => undefined);
        else element.pause();
      },
      next() {
        setIndex((at) => Math.min(at + 1, Math.max(queue.length - 1, 0)));
      },
      previous() {
        const element = audio.current;
        if (element && (element.currentTime > RESTART_AFTER_SECONDS || index === 0)) {
          element.currentTime = 0;
          return;
        }
        setIndex((at) => Math.max(at - 1, 0));
      },
      seek(seconds) {
        if (audio.current) audio.current.currentTime = seconds;
      },
      setVolume(next) {
        setVolumeState(Math.min(1, Math.max(0, next)));
      },
    }),
    [song, queue.length, index],
  );

  useMediaSession(song, cover, controls);

  const now = useMemo<NowPlaying>(
    () => ({
      song,
      cover,
      playing,
      hasNext: index < queue.length - 1,
      hasPrevious: index > 0,
      volume,
      error,
    }),
    [song, cover, playing, index, queue.length, volume, error],
  );

  return (
    <ControlsContext.Provider value={controls}>
      <NowPlayingContext.Provider value={now}>
        <TimeContext.Provider value={time}>
          {children}
          <audio
            ref={audio}
            preload="metadata"
            data-testid="player-audio"
            data-song-id={loaded}
            onPlay={() => setPlaying(true)}
            onPause={() => setPlaying(false)}
            onPlaying={() => {
              // One play per listen: counted when the song first sounds, not on
              // every resume or seek.
              if (!song || counted.current === song.id) return;
              counted.current = song.id;
              // Not a mutation: a play changes no list on screen enough to ask again.
              callUnaryMethod(transport, SongService.method.recordPlay, { songId: song.id }).catch(
                console.error,
              );
            }}
            onEnded={() => {
              setPlaying(false);
              if (index < queue.length - 1) setIndex(index + 1);
            }}
            onTimeUpdate={(event) =>
              setTime({
                current: event.currentTarget.currentTime,
                duration: event.currentTarget.duration || 0,
              })
            }
            onLoadedMetadata={(event) =>
              setTime({ current: 0, duration: event.currentTarget.duration || 0 })
            }
            onError={() => song && setError("This song could not be played.")}
          />
        </TimeContext.Provider>
      </NowPlayingContext.Provider>
    </ControlsContext.Provider>
  );
}

/** Lock-screen and headset controls, and the title the system shows. */
function useMediaSession(song: Song | undefined, cover: string | undefined, controls: PlayerControls) {
  useEffect(() => {
    if (!("mediaSession" in navigator) || !song) return;
    navigator.mediaSession.metadata = new MediaMetadata({
      title: song.title || "Untitled song",
      artist: song.ownerDisplayName,
      album: "Neutone",
      artwork: cover ? [{ src: cover }] : [],
    });
    const handlers: [MediaSessionAction, MediaSessionActionHandler][] = [
      ["play", () => controls.toggle()],
      ["pause", () => controls.toggle()],
      ["nexttrack", () => controls.next()],
      ["previoustrack", () => controls.previous()],
      ["seekto", (details) => details.seekTime !== undefined && controls.seek(details.seekTime)],
    ];
    for (const [action, handler] of handlers) navigator.mediaSession.setActionHandler(action, handler);
    return () => {
      for (const [action] of handlers) navigator.mediaSession.setActionHandler(action, null);
    };
  }, [song, cover, controls]);
}

export function usePlayer(): PlayerControls {
  const controls = useContext(ControlsContext);
  if (!controls) throw new Error("usePlayer outside PlayerProvider");
  return controls;
}

export function useNowPlaying(): NowPlaying {
  const now = useContext(NowPlayingContext);
  if (!now) throw new Error("useNowPlaying outside PlayerProvider");
  return now;
}

export function usePlaybackTime(): PlaybackTime {
  return useContext(TimeContext);
}
