// Discover: search published songs as you type, or browse the feed by
// category, newest or trending. Filters and the search live in the URL, so a
// view can be shared.
import { useState } from "react";
import { useSearchParams } from "react-router";
import { Search } from "lucide-react";
import { Field } from "@/components/Field";
import { useDebounced } from "@/lib/useDebounced";
import { FeedOrder } from "@/gen/neutone/v1/song_service_pb";
import { SongGrid, useCategories, useFeed, useSearchSongs } from "@/features/songs";

const SEARCH_DELAY_MS = 250;

export function FeedPage() {
  const [params, setParams] = useSearchParams();
  const [typed, setTyped] = useState(params.get("q") ?? "");
  const query = useDebounced(typed, SEARCH_DELAY_MS).trim();
  const searching = query !== "";

  function choose(changes: Record<string, string>) {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    setParams(next, { replace: true });
  }

  return (
    <section>
      <div className="mb-6 grid gap-4 sm:flex sm:items-end sm:justify-between">
        <h1 className="m-0">Discover</h1>
        <form
          role="search"
          className="m-0 sm:w-96"
          onSubmit={(event) => {
            event.preventDefault();
            choose({ q: typed.trim() });
          }}
        >
          <label htmlFor="search" className="visually-hidden">
            Search songs
          </label>
          <div className="relative">
            <Search aria-hidden className="pointer-events-none absolute left-3 top-1/2 size-5 -translate-y-1/2 text-muted" />
            <input
              id="search"
              type="search"
              className="rounded-full pl-10"
              placeholder="Search songs, artists, lyrics"
              autoComplete="off"
              maxLength={200}
              value={typed}
              onChange={(event) => {
                setTyped(event.target.value);
                if (event.target.value === "") choose({ q: "" });
              }}
            />
          </div>
        </form>
      </div>
      {searching ? <SearchResults query={query} /> : <Feed params={params} choose={choose} />}
    </section>
  );
}

function SearchResults({ query }: { query: string }) {
  const results = useSearchSongs(query);
  return (
    <>
      <h2 className="mt-0">Results for “{query}”</h2>
      <SongGrid
        query={results}
        showOwner
        label="Search results"
        empty={<p>No published song matches “{query}”.</p>}
      />
    </>
  );
}

function Feed({ params, choose }: { params: URLSearchParams; choose(changes: Record<string, string>): void }) {
  const category = params.get("category") ?? "";
  const order = params.get("order") === "trending" ? FeedOrder.TRENDING : FeedOrder.NEWEST;
  const categories = useCategories().data?.categories ?? [];
  const feed = useFeed(category, order);
  return (
    <>
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
      <SongGrid query={feed} showOwner empty={<p>No published songs here yet.</p>} />
    </>
  );
}
