// The button under a paged list that loads its next page, there while the
// server has more.

/** The part of an infinite query (useInfiniteQuery) the button needs. */
interface PagedQuery {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  fetchNextPage(): unknown;
}

interface LoadMoreProps {
  query: PagedQuery;
  /** What the next page holds, e.g. "More songs". */
  label: string;
  className: string;
}

export function LoadMore({ query, label, className }: LoadMoreProps) {
  if (!query.hasNextPage) return null;
  return (
    <p className={className}>
      <button
        type="button"
        className="secondary"
        disabled={query.isFetchingNextPage}
        onClick={() => query.fetchNextPage()}
      >
        {query.isFetchingNextPage ? "Loading…" : label}
      </button>
    </p>
  );
}
