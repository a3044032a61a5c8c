// Song helpers shared by the pages: labels, and following a song's generation.
import { useEffect, useState } from "react";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { skipToken } from "@tanstack/react-query";
import { createClient } from "@connectrpc/connect";
import { useQuery, useTransport } from "@connectrpc/connect-query";
import { problemOf } from "@/lib/api";
import { useAnnounce } from "@/components/Announcer";
import { mediaStaleTime } from "@/lib/media";
import { SongService } from "@/gen/neutone/v1/song_service_pb";
import {
  GenerationStage,
  SongStatus,
  SongTask,
  type MusicalControls,
  type Song,
} from "@/gen/neutone/v1/song_pb";

export function isFinished(song: Song): boolean {
  return song.status === SongStatus.READY || song.status === SongStatus.FAILED;
}

const STATUS: Record<SongStatus, string> = {
  [SongStatus.UNSPECIFIED]: "unknown",
  [SongStatus.QUEUED]: "queued",
  [SongStatus.PROCESSING]: "generating",
  [SongStatus.READY]: "ready",
  [SongStatus.FAILED]: "failed",
};

const STAGE: Record<GenerationStage, string> = {
  [GenerationStage.UNSPECIFIED]: "",
  [GenerationStage.QUEUED]: "waiting in the queue",
  [GenerationStage.PLANNING]: "writing the plan and lyrics",
  [GenerationStage.GENERATING]: "making the music and cover",
  [GenerationStage.UPLOADING]: "saving",
  [GenerationStage.DONE]: "done",
};

export function statusLabel(song: Song): string {
  return STATUS[song.status];
}

export function stageLabel(song: Song): string {
  return STAGE[song.stage];
}

export function createdOn(song: Song): string {
  return song.createTime ? timestampDate(song.createTime).toLocaleString() : "";
}

export interface Progress {
  song: Song;
  queuePosition: number;
  secondsLeft: number | undefined;
}

const RECONNECT_MS = 2000;

/** The song as WatchSong reports it, live until it is READY or FAILED. The
 * stream pushes every change; after a dropped connection it reconnects and
 * resumes from the current state. */
export function useWatchedSong(initial: Song): Progress {
  const announce = useAnnounce();
  const transport = useTransport();
  // What the stream said last; the song as given wins once it is finished (a
  // list asked again may bring a song the stream had not finished with yet).
  const [streamed, setProgress] = useState<Progress | null>(null);
  const finished = isFinished(initial);
  useEffect(() => {
    if (finished) return;
    const abort = new AbortController();
    let retry: number | undefined;
    async function follow() {
      try {
        // A server stream: connect-query has no hook for those.
        for await (const update of createClient(SongService, transport).watchSong(
          { songId: initial.id },
          { signal: abort.signal, timeoutMs: 0 },
        )) {
          if (!update.song) continue;
          setProgress({
            song: update.song,
            queuePosition: update.queuePosition,
            secondsLeft: update.estimatedTimeRemaining
              ? Number(update.estimatedTimeRemaining.seconds)
              : undefined,
          });
          if (isFinished(update.song)) {
            announceFinished(update.song, announce);
            return;
          }
        }
      } catch (error) {
        if (abort.signal.aborted) return;
        console.warn("song watch dropped; reconnecting", error);
      }
      if (!abort.signal.aborted) retry = window.setTimeout(follow, RECONNECT_MS);
    }
    follow();
    return () => {
      abort.abort();
      window.clearTimeout(retry);
    };
  }, [initial.id, finished, announce, transport]);
  if (finished || !streamed || streamed.song.id !== initial.id) {
    return { song: initial, queuePosition: 0, secondsLeft: undefined };
  }
  return streamed;
}

// Each song once, though several cards and pages may follow it.
const announced = new Set<string>();

function announceFinished(song: Song, announce: ReturnType<typeof useAnnounce>): void {
  if (announced.has(song.id)) return;
  announced.add(song.id);
  const title = song.title || "Your song";
  announce(
    song.status === SongStatus.READY
      ? { text: `“${title}” is ready`, href: `/songs/${song.id}` }
      : { text: `“${title}” failed: ${song.failureReason || "generation failed"}`, tone: "error" },
  );
}

const TASK: Record<SongTask, string> = {
  [SongTask.UNSPECIFIED]: "",
  [SongTask.TEXT_TO_MUSIC]: "",
  [SongTask.EXTEND]: "Extension",
  [SongTask.REPAINT]: "Repaint",
  [SongTask.COVER]: "Cover",
  [SongTask.STEMS]: "Stems",
};

/** What kind of work made the song ("Cover", "Take 2"), or "" for a first take. */
export function workLabel(song: Song): string {
  const task = song.lineage ? TASK[song.lineage.task] : "";
  if (task) return task;
  return song.take > 1 ? `Take ${song.take}` : "";
}

/** The musical settings a song was made with, as one line ("96 bpm, F# minor"). */
export function controlsText(controls: MusicalControls | undefined): string {
  if (!controls) return "";
  return [
    controls.bpm ? `${controls.bpm} bpm` : "",
    controls.keyScale,
    controls.timeSignature ? `${controls.timeSignature} beats a bar` : "",
    controls.vocalLanguage ? `sung in ${languageName(controls.vocalLanguage)}` : "",
  ]
    .filter(Boolean)
    .join(", ");
}

// The musical controls' choices, as engines/controls.py lists them.
const PITCHES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
export const KEY_SCALES = ["major", "minor"].flatMap((mode) => PITCHES.map((p) => `${p} ${mode}`));
export const TIME_SIGNATURES = [2, 3, 4, 6];
export const VOCAL_LANGUAGES = [
  "ar", "az", "bg", "bn", "ca", "cs", "da", "de", "el", "en",
  "es", "fa", "fi", "fr", "he", "hi", "hr", "ht", "hu", "id",
  "is", "it", "ja", "ko", "la", "lt", "ms", "ne", "nl", "no",
  "pa", "pl", "pt", "ro", "ru", "sa", "sk", "sr", "sv", "sw",
  "ta", "te", "th", "tl", "tr", "uk", "ur", "vi", "yue", "zh",
];
export const BPM = { min: 30, max: 300 };

const languageNames = new Intl.DisplayNames(["en"], { type: "language" });

export function languageName(code: string): string {
  return languageNames.of(code) ?? code;
}

export interface Media {
  audio: string;
  cover: string;
  // The stored waveform; empty for songs made before waveforms were kept.
  peaks: Uint8Array;
}

export interface SongMedia {
  media?: Media;
  error?: string;
}

/** A READY song's time-limited audio and cover URLs (undefined until known),
 * from the query cache: the card, the song page and the player share one call. */
export function useSongMedia(songId: string, ready: boolean): SongMedia {
  const query = useQuery(SongService.method.getSongMedia, ready ? { songId } : skipToken, {
    staleTime: mediaStaleTime,
  });
  return {
    media: query.data
      ? { audio: query.data.audioUrl, cover: query.data.coverUrl, peaks: query.data.peaks }
      : undefined,
    error: query.error ? problemOf(query.error).message : undefined,
  };
}
