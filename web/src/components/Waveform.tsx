// A song's waveform, drawn from its audio, on which a section can be chosen by
// dragging (Repaint). Keyboard users set the same section in the number fields
// beside it; the drawing is a picture of it, not the only way in.
import { useEffect, useRef, useState } from "react";

const BARS = 240;

export interface Section {
  start: number;
  end: number;
}

/** Peak levels (0-1) of `BARS` slices of the audio at `url`, decoded here. */
function usePeaks(url: string | undefined): number[] | null {
  const [peaks, setPeaks] = useState<number[] | null>(null);
  useEffect(() => {
    if (!url) return;
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
  }, [url]);
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
  durationSeconds: number;
  section?: Section;
  onSelect?(section: Section): void;
  label: string;
}

export function Waveform({ audioUrl, durationSeconds, section, onSelect, label }: WaveformProps) {
  const peaks = usePeaks(audioUrl);
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
    context.fillStyle = style.color;
    const bar = width / BARS;
    (peaks ?? []).forEach((peak, index) => {
      const barHeight = Math.max(1, peak * height * 0.9);
      context.fillRect(index * bar, (height - barHeight) / 2, Math.max(1, bar - 1), barHeight);
    });
  }, [peaks, section, durationSeconds]);

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
      onPointerDown={(event) => {
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
