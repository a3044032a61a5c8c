// Play/pause for one song where it is shown (a card, the song page): plays the
// list it belongs to from it, so next/previous walk that list.
import { Pause, Play } from "lucide-react";
import type { Song } from "@/gen/neutone/v1/song_pb";
import { useNowPlaying, usePlayer } from "../PlayerProvider";

interface PlayButtonProps {
  song: Song;
  // The list the song is shown in; alone when there is none.
  queue?: Song[];
  size?: "md" | "lg";
  className?: string;
}

export function PlayButton({ song, queue, size = "md", className = "" }: PlayButtonProps) {
  const controls = usePlayer();
  const now = useNowPlaying();
  const current = now.song?.id === song.id;
  const playing = current && now.playing;
  const title = song.title || "Untitled song";
  const list = queue ?? [song];
  const dimension = size === "lg" ? "size-16" : "size-12";
  return (
    <button
      type="button"
      className={`icon primary rounded-full shadow-lg ${dimension} ${className}`}
      aria-label={playing ? `Pause ${title}` : `Play ${title}`}
      onClick={() => {
        if (current) controls.toggle();
        else controls.playQueue(list, Math.max(0, list.findIndex((item) => item.id === song.id)));
      }}
    >
      {playing ? <Pause aria-hidden className="size-1/2" /> : <Play aria-hidden className="size-1/2 translate-x-px" />}
    </button>
  );
}
