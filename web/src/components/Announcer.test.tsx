import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AnnouncerProvider, Notices, useAnnounce } from "./Announcer";

function Finish() {
  const announce = useAnnounce();
  return (
    <button type="button" onClick={() => announce({ text: "“Rain” is ready", href: "/songs/s1" })}>
      finish
    </button>
  );
}

/** Renders an announcer as the app has it: the provider above the router, the
 * notices inside it. Returns a user whose waits advance the fake clock. */
function renderAnnouncer() {
  render(
    <AnnouncerProvider>
      <MemoryRouter>
        <Finish />
        <Notices />
      </MemoryRouter>
    </AnnouncerProvider>,
  );
  return userEvent.setup({ advanceTimers: vi.advanceTimersByTime });
}

describe("a shown notice", () => {
  beforeEach(() => vi.useFakeTimers({ shouldAdvanceTime: true }));
  afterEach(() => vi.useRealTimers());

  it("leads to what it announces", async () => {
    const user = renderAnnouncer();
    await user.click(screen.getByRole("button", { name: "finish" }));
    expect(screen.getByRole("link", { name: "“Rain” is ready" })).toHaveAttribute("href", "/songs/s1");
  });

  it("goes after a few seconds, or at once when dismissed", async () => {
    const user = renderAnnouncer();
    await user.click(screen.getByRole("button", { name: "finish" }));
    act(() => vi.advanceTimersByTime(5000));
    expect(screen.getByText("“Rain” is ready")).toBeInTheDocument();
    act(() => vi.advanceTimersByTime(1000));
    expect(screen.queryByText("“Rain” is ready")).not.toBeInTheDocument();

    await user.click(screen.getByRole("button", { name: "finish" }));
    await user.click(screen.getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByText("“Rain” is ready")).not.toBeInTheDocument();
  });

  it("stays while focus is in it, and goes a few seconds after focus leaves", async () => {
    const user = renderAnnouncer();
    await user.click(screen.getByRole("button", { name: "finish" }));
    await user.tab(); // from the button that announced it to the notice's link
    expect(screen.getByRole("link", { name: "“Rain” is ready" })).toHaveFocus();
    act(() => vi.advanceTimersByTime(20_000));
    expect(screen.getByText("“Rain” is ready")).toBeInTheDocument();
    await user.tab({ shift: true });
    act(() => vi.advanceTimersByTime(6000));
    expect(screen.queryByText("“Rain” is ready")).not.toBeInTheDocument();
  });
});
