// Song helpers shared by the pages: labels, and following a song's generation.
import { useEffect, useState } from "react";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { songs } from "./api";
import { GenerationStage, SongStatus, type Song } from "./gen/neutone/v1/song_pb";

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
  const [progress, setProgress] = useState<Progress>({
    song: initial,
    queuePosition: 0,
    secondsLeft: undefined,
  });
  const finishedAtStart = isFinished(initial);
  useEffect(() => {
    if (finishedAtStart) return;
    const abort = new AbortController();
    let retry: number | undefined;
    async function follow() {
      try {
        for await (const update of songs.watchSong(
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
          if (isFinished(update.song)) return;
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
  }, [initial.id, finishedAtStart]);
  return progress;
}
