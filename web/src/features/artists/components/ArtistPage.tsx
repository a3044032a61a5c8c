// An artist's page (/artists/<id>): their name, what their published songs add
// up to, and the songs themselves.
import { useParams } from "react-router";
import { Code } from "@connectrpc/connect";
import { ErrorBanner } from "@/components/Field";
import { problemOf } from "@/lib/api";
import { formatCountOf } from "@/lib/format";
import { SongGrid } from "@/features/songs";
import { useArtist, useArtistSongs } from "../api/queries";

export function ArtistPage() {
  const artistId = useParams().artistId ?? "";
  const artist = useArtist(artistId);
  const songs = useArtistSongs(artistId);
  if (artist.error) {
    const problem = problemOf(artist.error);
    return (
      <section>
        <h1>Artist not found</h1>
        <ErrorBanner
          message={problem.code === Code.NotFound ? "This artist has no published songs." : problem.message}
        />
      </section>
    );
  }
  const profile = artist.data?.artist;
  const name = profile?.displayName ?? "";
  return (
    <section>
      <header className="mb-8 flex flex-wrap items-center gap-5">
        <div
          aria-hidden
          className="grid size-24 place-items-center rounded-full bg-gradient-to-br from-violet-600 to-fuchsia-500 text-4xl font-extrabold text-white sm:size-32"
        >
          {name.slice(0, 1).toUpperCase()}
        </div>
        <div className="min-w-0">
          <p className="m-0 text-sm font-semibold uppercase tracking-wider text-muted">Artist</p>
          <h1 className="m-0 text-4xl sm:text-5xl">{name || "…"}</h1>
          {profile && (
            <p className="m-0 mt-2 text-muted">
              {formatCountOf(profile.publishedSongCount, "song")} ·{" "}
              {formatCountOf(profile.playCount, "play")} · {formatCountOf(profile.likeCount, "like")}
            </p>
          )}
        </div>
      </header>
      <h2>Songs</h2>
      <SongGrid query={songs} showOwner={false} empty={<p>No published songs.</p>} />
    </section>
  );
}
