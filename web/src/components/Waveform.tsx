// A song's waveform, drawn from its audio, on which a section can be chosen by
// dragging (Repaint). Keyboard users set the same section in the number fields
// beside it; the drawing is a picture of it, not the only way in.
import { useEffect, useMemo, useRef, useState } from "react";

const BARS = 240;

export interface Section {
  start: number;
  end: number;
}

/** Peak levels (0-1) of `BARS` slices of the song: from the waveform stored
 * with it when there is one, else from its audio at `url`, decoded here. */
function usePeaks(url: string | undefined, stored: Uint8Array | undefined): number[] | null {
  const [decoded, setPeaks] = useState<number[] | null>(null);
  const hasStored = stored !== undefined && stored.length >= 2;
  const fromStore = useMemo(() => (stored && hasStored ? storedPeaks(stored) : null), [stored, hasStored]);
  useEffect(() => {
    if (!url || hasStored) return;
    let live = true;
    const context = new AudioContext();
    fetch(url)
      .then((response) => response.arrayBuffer())
      .then((data) => context.decodeAudioData(data))
      .then((audio) => live && setPeaks(peaksOf(audio)))
      .catch((error) => console.warn("the waveform could not be drawn", error))
      .finally(() => context.close());
    return () => {
      live = false;
    };
  }, [url, hasStored]);
  return fromStore ?? decoded;
}

/** Bars from the stored waveform: (min, max) pairs of signed bytes, -127..127
 * for full scale (GetSongMediaResponse.peaks). */
export function storedPeaks(bytes: Uint8Array): number[] {
  const levels = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const pairs = Math.floor(levels.length / 2);
  const peaks: number[] = [];
  for (let bar = 0; bar < BARS; bar++) {
    let peak = 0;
    const from = Math.floor((bar * pairs) / BARS);
    const to = Math.max(from + 1, Math.floor(((bar + 1) * pairs) / BARS));
    for (let pair = from; pair < Math.min(to, pairs); pair++) {
      peak = Math.max(peak, Math.abs(levels[2 * pair]), Math.abs(levels[2 * pair + 1]));
    }
    peaks.push(peak / 127);
  }
  return peaks;
}

function peaksOf(audio: AudioBuffer): number[] {
  const samples = audio.getChannelData(0);
  const size = Math.max(1, Math.floor(samples.length / BARS));
  const peaks: number[] = [];
  for (let bar = 0; bar < BARS; bar++) {
    let peak = 0;
    for (let i = bar * size; i < Math.min(samples.length, (bar + 1) * size); i++) {
      peak = Math.max(peak, Math.abs(samples[i]));
    }
    peaks.push(peak);
  }
  const loudest = Math.max(...peaks, 1e-6);
  return peaks.map((peak) => peak / loudest);
}

interface WaveformProps {
  audioUrl: string | undefined;
  /** The waveform stored with the song, when it has one (no decoding then). */
  peaks?: Uint8Array;
  durationSeconds: number;
  section?: Section;
  onSelect?(section: Section): void;
  /** The part played so far (0-1), drawn brighter. */
  played?: number;
  /** Clicking or tapping seeks there (in seconds) instead of choosing a section. */
  onSeek?(seconds: number): void;
  label: string;
}

export function Waveform({
  audioUrl,
  peaks: stored,
  durationSeconds,
  section,
  onSelect,
  played,
  onSeek,
  label,
}: WaveformProps) {
  const peaks = usePeaks(audioUrl, stored);
  const canvas = useRef<HTMLCanvasElement>(null);
  const dragFrom = useRef<number | null>(null);

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext("2d");
    if (!element || !context) return;
    const { width, height } = element;
    const style = getComputedStyle(element);
    context.clearRect(0, 0, width, height);
    if (section && durationSeconds > 0) {
      context.fillStyle = style.getPropertyValue("--selection") || "rgba(80, 120, 255, 0.25)";
      const from = (section.start / durationSeconds) * width;
      context.fillRect(from, 0, ((section.end - section.start) / durationSeconds) * width, height);
    }
    const bar = width / BARS;
    const playedBars = played === undefined ? BARS : played * BARS;
    (peaks ?? []).forEach((peak, index) => {
      const barHeight = Math.max(1, peak * height * 0.9);
      // Not yet played: the same colour, fainter.
      context.globalAlpha = index < playedBars ? 1 : 0.4;
      context.fillStyle = style.color;
      context.fillRect(index * bar, (height - barHeight) / 2, Math.max(1, bar - 1), barHeight);
    });
    context.globalAlpha = 1;
  }, [peaks, section, durationSeconds, played]);

  function secondsAt(event: React.PointerEvent<HTMLCanvasElement>): number {
    const box = event.currentTarget.getBoundingClientRect();
    const fraction = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
    return Math.round(fraction * durationSeconds * 10) / 10;
  }

  function drag(event: React.PointerEvent<HTMLCanvasElement>) {
    if (dragFrom.current === null || !onSelect) return;
    const at = secondsAt(event);
    onSelect({ start: Math.min(dragFrom.current, at), end: Math.max(dragFrom.current, at) });
  }

  return (
    <canvas
      ref={canvas}
      className="waveform"
      width={960}
      height={96}
      role="img"
      aria-label={label}
      style={{ cursor: onSelect || onSeek ? "pointer" : undefined }}
      onPointerDown={(event) => {
        if (onSeek) onSeek(secondsAt(event));
        if (!onSelect) return;
        event.currentTarget.setPointerCapture(event.pointerId);
        dragFrom.current = secondsAt(event);
      }}
      onPointerMove={drag}
      onPointerUp={(event) => {
        drag(event);
        dragFrom.current = null;
      }}
    />
  );
}
