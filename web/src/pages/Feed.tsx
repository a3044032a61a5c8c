// The public feed: published songs, filtered by category, newest or trending.
import { useEffect, useState } from "react";
import { problemOf, songs } from "../api";
import { ErrorBanner, Field } from "../components/Field";
import { SongCard } from "../components/SongCard";
import type { Category, Song } from "../gen/neutone/v1/song_pb";
import { FeedOrder } from "../gen/neutone/v1/song_service_pb";
import { navigate, useLocation } from "../router";

export function FeedPage() {
  const location = useLocation();
  const category = location.searchParams.get("category") ?? "";
  const order = location.searchParams.get("order") === "trending" ? FeedOrder.TRENDING : FeedOrder.NEWEST;
  const [categories, setCategories] = useState<Category[]>([]);
  const [list, setList] = useState<Song[] | null>(null);
  const [next, setNext] = useState("");
  const [error, setError] = useState<string>();

  useEffect(() => {
    songs
      .listCategories({})
      .then((reply) => setCategories(reply.categories))
      .catch((err) => setError(problemOf(err).message));
  }, []);

  async function load(pageToken: string) {
    try {
      const reply = await songs.listFeed({ pageSize: 20, pageToken, category, order });
      setList((current) => [...(pageToken ? (current ?? []) : []), ...reply.songs]);
      setNext(reply.nextPageToken);
    } catch (err) {
      setError(problemOf(err).message);
    }
  }

  useEffect(() => {
    setList(null);
    load("");
  }, [category, order]);

  function choose(params: Record<string, string>) {
    const query = new URLSearchParams(location.search);
    for (const [key, value] of Object.entries(params)) {
      if (value) query.set(key, value);
      else query.delete(key);
    }
    const search = query.toString();
    navigate(`/${search ? `?${search}` : ""}`, { replace: true });
  }

  return (
    <section>
      <h1>Discover</h1>
      <div className="filters">
        <Field label="Category">
          {(props) => (
            <select {...props} value={category} onChange={(e) => choose({ category: e.target.value })}>
              <option value="">All categories</option>
              {categories.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.displayName}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Sort by">
          {(props) => (
            <select
              {...props}
              value={order === FeedOrder.TRENDING ? "trending" : "newest"}
              onChange={(e) => choose({ order: e.target.value === "trending" ? "trending" : "" })}
            >
              <option value="newest">Newest</option>
              <option value="trending">Trending</option>
            </select>
          )}
        </Field>
      </div>
      <ErrorBanner message={error} />
      {list === null ? (
        <p className="muted">Loading…</p>
      ) : list.length === 0 ? (
        <p>No published songs here yet.</p>
      ) : (
        <div className="grid">
          {list.map((song) => (
            <SongCard key={song.id} song={song} showOwner />
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
