import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { LoadMore } from "./LoadMore";

function renderLoadMore(hasNextPage: boolean, isFetchingNextPage: boolean) {
  const fetchNextPage = vi.fn();
  render(
    <LoadMore
      query={{ hasNextPage, isFetchingNextPage, fetchNextPage }}
      label="More songs"
      className="mt-4"
    />,
  );
  return fetchNextPage;
}

describe("LoadMore", () => {
  it("loads the next page while the server has more", async () => {
    const fetchNextPage = renderLoadMore(true, false);
    await userEvent.click(screen.getByRole("button", { name: "More songs" }));
    expect(fetchNextPage).toHaveBeenCalledOnce();
  });

  it("says it is loading, and takes no second click, while a page is on its way", () => {
    renderLoadMore(true, true);
    expect(screen.getByRole("button", { name: "Loading…" })).toBeDisabled();
  });

  it("is gone once the list is complete", () => {
    renderLoadMore(false, false);
    expect(screen.queryByRole("button")).toBeNull();
  });
});
