export { PlayerProvider, useNowPlaying, usePlaybackTime, usePlayer } from "./PlayerProvider";
export { PlayerBar } from "./components/PlayerBar";
export { PlayButton } from "./components/PlayButton";
