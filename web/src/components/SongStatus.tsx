// A song's generation status, live from WatchSong while it is being made.
import { SongStatus } from "../gen/neutone/v1/song_pb";
import { stageLabel, statusLabel, type Progress } from "../songs";

export function StatusLine({ progress }: { progress: Progress }) {
  const { song, queuePosition, secondsLeft } = progress;
  if (song.status === SongStatus.READY) return null;
  if (song.status === SongStatus.FAILED) {
    return (
      <p className="status failed" role="status">
        Failed: {song.failureReason || "generation failed"}. Your credit was refunded.
      </p>
    );
  }
  const percent = Math.round(song.progress * 100);
  return (
    <div className="status" role="status" aria-live="polite">
      <span className="badge">{statusLabel(song)}</span> {stageLabel(song)}
      {queuePosition > 0 && <> · {queuePosition} ahead in the queue</>}
      {secondsLeft !== undefined && <> · about {secondsLeft} s left</>}
      <progress max={100} value={percent} aria-label={`Progress of ${song.title || "the song"}`}>
        {percent}%
      </progress>
    </div>
  );
}
