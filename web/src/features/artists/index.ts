export { ArtistPage } from "./components/ArtistPage";
