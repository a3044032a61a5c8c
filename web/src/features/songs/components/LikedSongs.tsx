// The songs the signed-in person likes, most recently liked first.
import { Link } from "react-router";
import { useLikedSongs } from "../api/queries";
import { SongGrid } from "./SongGrid";

export function LikedSongsPage() {
  const liked = useLikedSongs();
  return (
    <section>
      <h1>Liked songs</h1>
      <SongGrid
        query={liked}
        showOwner
        empty={
          <p>
            No liked songs yet. <Link to="/">Discover some</Link>.
          </p>
        }
      />
    </section>
  );
}
