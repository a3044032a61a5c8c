import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it, vi } from "vitest";
import { SongSchema, SongStatus } from "@/gen/neutone/v1/song_pb";
import { SongService } from "@/gen/neutone/v1/song_service_pb";
import { UserService } from "@/gen/neutone/v1/user_service_pb";
import { PlayerBar } from "@/features/player";
import { renderWithServer } from "@/testing/render";
import { SongCard } from "./SongCard";

const song = create(SongSchema, {
  id: "6f1c2d1e-0000-4000-8000-000000000001",
  ownerId: "6f1c2d1e-0000-4000-8000-0000000000aa",
  ownerDisplayName: "Owner",
  title: "Summer Nights",
  status: SongStatus.READY,
  published: true,
  likeCount: 2n,
  playCount: 7n,
  categories: ["pop"],
});

function server(likeSong = vi.fn(() => ({ likeCount: 3n }))) {
  return (router: Parameters<Parameters<typeof renderWithServer>[1]>[0]) => {
    router.service(UserService, {
      getCurrentUser: () => ({ user: { id: "listener", displayName: "Listener" } }),
    });
    router.service(SongService, {
      getSongMedia: () => ({ audioUrl: "/media/a.flac", coverUrl: "/media/c.png" }),
      likeSong,
      recordPlay: () => ({ playCount: 8n }),
    });
  };
}

describe("SongCard", () => {
  it("follows a song being made until it is ready, then offers to play it", async () => {
    const making = create(SongSchema, { ...song, status: SongStatus.PROCESSING, progress: 0.3 });
    renderWithServer(<SongCard song={making} showOwner />, (router) => {
      server()(router);
      router.service(SongService, {
        getSongMedia: () => ({ audioUrl: "/media/a.flac", coverUrl: "/media/c.png" }),
        async *watchSong() {
          yield { song: { ...making, status: SongStatus.READY, progress: 1 } };
        },
      });
    });
    expect(screen.getByRole("progressbar", { name: "Progress of Summer Nights" })).toBeInTheDocument();
    expect(await screen.findByRole("button", { name: "Play Summer Nights" })).toBeInTheDocument();
    expect(screen.queryByRole("progressbar")).toBeNull();
  });

  it("shows a song the list brings back ready, though it was being made when first shown", async () => {
    const making = create(SongSchema, { ...song, status: SongStatus.PROCESSING });
    const view = renderWithServer(<SongCard song={making} showOwner />, (router) => {
      server()(router);
      router.service(SongService, {
        getSongMedia: () => ({ audioUrl: "/media/a.flac", coverUrl: "/media/c.png" }),
        // A stream that says nothing before the list is asked again.
        async *watchSong() {
          await new Promise(() => undefined);
        },
      });
    });
    view.rerender(<SongCard song={song} showOwner />);
    expect(await screen.findByRole("button", { name: "Play Summer Nights" })).toBeInTheDocument();
  });

  it("shows the song with its artist linked, its plays and likes", async () => {
    renderWithServer(<SongCard song={song} showOwner />, server());
    const card = screen.getByRole("article", { name: "Summer Nights" });
    expect(within(card).getByRole("link", { name: "Owner" })).toHaveAttribute(
      "href",
      `/artists/${song.ownerId}`,
    );
    expect(card).toHaveTextContent("7 plays");
    expect(within(card).getByRole("button", { name: "Like Summer Nights, 2 likes" })).toBeInTheDocument();
  });

  it("likes the song once signed in, and shows the server's count", async () => {
    const likeSong = vi.fn(() => ({ likeCount: 3n }));
    renderWithServer(<SongCard song={song} showOwner />, server(likeSong));
    const like = await screen.findByRole("button", { name: "Like Summer Nights, 2 likes" });
    await waitFor(() => expect(like).toBeEnabled());
    await userEvent.click(like);
    const unlike = await screen.findByRole("button", { name: "Unlike Summer Nights, 3 likes" });
    expect(unlike).toHaveAttribute("aria-pressed", "true");
    expect(likeSong).toHaveBeenCalledOnce();
  });

  it("plays in the player bar, which names the song and its artist", async () => {
    renderWithServer(
      <>
        <SongCard song={song} showOwner />
        <PlayerBar />
      </>,
      server(),
    );
    expect(screen.queryByRole("region", { name: "Player" })).toBeNull();
    await userEvent.click(screen.getByRole("button", { name: "Play Summer Nights" }));
    const bar = await screen.findByRole("region", { name: "Player" });
    expect(within(bar).getByRole("link", { name: "Summer Nights" })).toHaveAttribute("href", `/songs/${song.id}`);
    expect(within(bar).getByRole("link", { name: "Owner" })).toBeInTheDocument();
    expect(within(bar).getByRole("slider", { name: "Seek" })).toBeInTheDocument();
  });
});
