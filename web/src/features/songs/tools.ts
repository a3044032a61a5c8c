// What other features may use of the songs feature to make songs from a song
// or an upload. Apart from index.ts, which Discover (the first page) imports:
// everything index.ts names comes with the first page.
export { WorkOnSong } from "./components/WorkOnSong";
export { UploadAudio, type Uploaded } from "./components/Upload";
