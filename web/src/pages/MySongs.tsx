// The signed-in user's songs, newest first, each with its live status.
import { useEffect, useState } from "react";
import { problemOf, songs } from "../api";
import { SongCard } from "../components/SongCard";
import { ErrorBanner } from "../components/Field";
import type { Song } from "../gen/neutone/v1/song_pb";
import { onLinkClick } from "../router";

export function MySongsPage() {
  const [list, setList] = useState<Song[] | null>(null);
  const [next, setNext] = useState("");
  const [error, setError] = useState<string>();

  async function load(pageToken: string) {
    try {
      const reply = await songs.listMySongs({ pageSize: 20, pageToken });
      setList((current) => [...(pageToken ? (current ?? []) : []), ...reply.songs]);
      setNext(reply.nextPageToken);
    } catch (err) {
      setError(problemOf(err).message);
    }
  }

  useEffect(() => {
    load("");
  }, []);

  return (
    <section>
      <h1>My songs</h1>
      <ErrorBanner message={error} />
      {list === null ? (
        <p className="muted">Loading…</p>
      ) : list.length === 0 ? (
        <p>
          No songs yet.{" "}
          <a href="/create" onClick={onLinkClick}>
            Create your first song
          </a>
          .
        </p>
      ) : (
        <div className="grid">
          {list.map((song) => (
            <SongCard key={song.id} song={song} showOwner={false} />
          ))}
        </div>
      )}
      {next && (
        <button type="button" className="secondary" onClick={() => load(next)}>
          More songs
        </button>
      )}
    </section>
  );
}
