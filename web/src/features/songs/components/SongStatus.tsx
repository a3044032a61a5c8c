// A song's generation status, live from WatchSong while it is being made: the
// stage, the queue position, and a progress bar that moves smoothly between the
// server's updates from its estimate of the time left. A failed song says why
// and offers to try again.
import { useState } from "react";
import { useNavigate } from "react-router";
import { RotateCcw } from "lucide-react";
import { problemOf } from "@/lib/api";
import { SongStatus } from "@/gen/neutone/v1/song_pb";
import { stageLabel, statusLabel, type Progress } from "../api/songs";
import { useRetrySong } from "../api/queries";
import { useSmoothProgress } from "../hooks/useSmoothProgress";

export function StatusLine({ progress }: { progress: Progress }) {
  const { song } = progress;
  if (song.status === SongStatus.READY) return null;
  if (song.status === SongStatus.FAILED) return <Failed progress={progress} />;
  return <Generating progress={progress} />;
}

function Generating({ progress }: { progress: Progress }) {
  const { song, queuePosition, secondsLeft } = progress;
  const shown = useSmoothProgress(song.progress, secondsLeft);
  const percent = Math.round(shown * 100);
  return (
    <div className="grid gap-1.5 text-sm" role="status" aria-live="polite">
      <p className="m-0">
        <span className="badge">{statusLabel(song)}</span> {stageLabel(song)}
        {queuePosition > 0 && <> · {queuePosition} ahead in the queue</>}
        {secondsLeft !== undefined && <> · about {secondsLeft} s left</>}
      </p>
      <div
        role="progressbar"
        aria-label={`Progress of ${song.title || "the song"}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={percent}
        className="h-2 overflow-hidden rounded-full bg-raised"
      >
        <div
          className="h-full rounded-full bg-gradient-to-r from-violet-500 to-fuchsia-400"
          style={{ width: `${Math.max(percent, 2)}%` }}
        />
      </div>
    </div>
  );
}

function Failed({ progress }: { progress: Progress }) {
  const { song } = progress;
  const retry = useRetrySong();
  const navigate = useNavigate();
  const [error, setError] = useState<string>();
  return (
    <div className="grid gap-2 text-sm" role="status">
      <p className="m-0 text-danger">
        Failed: {song.failureReason || "generation failed"}. Your credit was refunded.
      </p>
      {retry.canRetry(song) && (
        <p className="m-0">
          <button
            type="button"
            className="secondary"
            disabled={retry.isPending}
            onClick={() =>
              retry.mutate(song, {
                onSuccess: (reply) => navigate(`/songs/${reply.song?.id ?? ""}`),
                onError: (reason) => setError(problemOf(reason).message),
              })
            }
          >
            <RotateCcw aria-hidden className="size-4" /> Try again (1 credit)
          </button>
        </p>
      )}
      {error && (
        <p className="m-0 text-danger" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
