import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { AnnouncerProvider, Notices, useAnnounce } from "./Announcer";

function Finish() {
  const announce = useAnnounce();
  return (
    <button type="button" onClick={() => announce({ text: "“Rain” is ready", href: "/songs/s1" })}>
      finish
    </button>
  );
}

describe("Announcer", () => {
  it("shows a notice that leads to what it announces", async () => {
    // As in the app: the provider above the router, the notices inside it.
    render(
      <AnnouncerProvider>
        <MemoryRouter>
          <Finish />
          <Notices />
        </MemoryRouter>
      </AnnouncerProvider>,
    );
    await userEvent.click(screen.getByRole("button", { name: "finish" }));
    expect(screen.getByRole("link", { name: "“Rain” is ready" })).toHaveAttribute("href", "/songs/s1");
  });
});
