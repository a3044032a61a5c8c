// Download a ready song (or one of its stems) as FLAC, WAV or MP3: the service
// makes the format on first request and answers with a time-limited link that
// saves the file under the song's title.
import { useState } from "react";
import { Download as DownloadIcon } from "lucide-react";
import { problemOf } from "@/lib/api";
import { Stem, type Song } from "@/gen/neutone/v1/song_pb";
import { AudioFormat } from "@/gen/neutone/v1/song_service_pb";
import { ErrorBanner } from "@/components/Field";
import { useSongDownload } from "../api/queries";

const FORMATS = [
  { value: AudioFormat.MP3, label: "MP3 (320 kbps)" },
  { value: AudioFormat.WAV, label: "WAV" },
  { value: AudioFormat.FLAC, label: "FLAC (lossless)" },
];

const STEM_LABELS: Record<Stem, string> = {
  [Stem.UNSPECIFIED]: "The whole song",
  [Stem.VOCALS]: "Vocals",
  [Stem.DRUMS]: "Drums",
  [Stem.BASS]: "Bass",
  [Stem.OTHER]: "Everything else",
};

export function Download({ song }: { song: Song }) {
  const [format, setFormat] = useState(AudioFormat.MP3);
  const [stem, setStem] = useState(Stem.UNSPECIFIED);
  const [error, setError] = useState<string>();
  const preparing = useSongDownload();

  async function download() {
    setError(undefined);
    try {
      const reply = await preparing.mutateAsync({ songId: song.id, format, stem });
      // The link answers with Content-Disposition: attachment, so the page stays.
      const link = document.createElement("a");
      link.href = reply.url;
      link.download = reply.filename;
      link.click();
    } catch (err) {
      setError(problemOf(err).message);
    }
  }

  return (
    <div className="download" role="group" aria-label="Download">
      <ErrorBanner message={error} />
      {song.stems.length > 0 && (
        <label>
          Part{" "}
          <select value={stem} onChange={(e) => setStem(Number(e.target.value) as Stem)}>
            {[Stem.UNSPECIFIED, ...song.stems].map((value) => (
              <option key={value} value={value}>
                {STEM_LABELS[value]}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Format{" "}
        <select
          value={format}
          onChange={(e) => setFormat(Number(e.target.value) as AudioFormat)}
        >
          {FORMATS.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      </label>
      <button type="button" onClick={download} disabled={preparing.isPending}>
        <DownloadIcon aria-hidden className="size-4" /> {preparing.isPending ? "Preparing…" : "Download"}
      </button>
    </div>
  );
}
