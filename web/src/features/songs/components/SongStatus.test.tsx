import { screen } from "@testing-library/react";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GenerationStage, SongSchema, SongStatus } from "@/gen/neutone/v1/song_pb";
import { renderWithServer } from "@/testing/render";
import { StatusLine } from "./SongStatus";

describe("StatusLine", () => {
  it("shows the stage and a progress bar while the song is made", () => {
    const song = create(SongSchema, {
      id: "s1",
      title: "Rain",
      status: SongStatus.PROCESSING,
      stage: GenerationStage.GENERATING,
      progress: 0.5,
    });
    renderWithServer(<StatusLine progress={{ song, queuePosition: 0, secondsLeft: 12 }} />, () => undefined);
    expect(screen.getByRole("status")).toHaveTextContent("making the music and cover");
    expect(screen.getByRole("status")).toHaveTextContent("about 12 s left");
    const bar = screen.getByRole("progressbar", { name: "Progress of Rain" });
    expect(Number(bar.getAttribute("aria-valuenow"))).toBeGreaterThanOrEqual(50);
  });

  it("says why a song failed and offers to try again", () => {
    const song = create(SongSchema, {
      id: "s2",
      status: SongStatus.FAILED,
      failureReason: "the model tier was unavailable",
    });
    renderWithServer(<StatusLine progress={{ song, queuePosition: 0, secondsLeft: undefined }} />, () => undefined);
    expect(screen.getByRole("status")).toHaveTextContent("Failed: the model tier was unavailable");
    expect(screen.getByRole("button", { name: /Try again/ })).toBeEnabled();
  });
});
