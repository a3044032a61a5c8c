// What other features may use of the songs feature.
export { SongCard, LikeButton, ArtistLink } from "./components/SongCard";
export { SongGrid } from "./components/SongGrid";
export { Cover } from "./components/Cover";
export { StatusLine } from "./components/SongStatus";
export {
  BPM,
  KEY_SCALES,
  TIME_SIGNATURES,
  VOCAL_LANGUAGES,
  languageName,
  useSongMedia,
  useWatchedSong,
} from "./api/songs";
export {
  songsOf,
  useCategories,
  useFeed,
  useLikedSongs,
  useMySongs,
  useSearchSongs,
  useSong,
} from "./api/queries";
