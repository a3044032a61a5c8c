import { describe, expect, it } from "vitest";
import { hasTag, toggleTag } from "./styleTags";

describe("style tags", () => {
  it("adds a tag after what was typed, and takes it out again", () => {
    const added = toggleTag("dreamy synth-pop, 100 bpm", "female vocals");
    expect(added).toBe("dreamy synth-pop, 100 bpm, female vocals");
    expect(hasTag(added, "female vocals")).toBe(true);
    expect(toggleTag(added, "female vocals")).toBe("dreamy synth-pop, 100 bpm");
  });

  it("starts an empty prompt with the tag and ignores case when finding it", () => {
    expect(toggleTag("", "jazz")).toBe("jazz");
    expect(hasTag("Jazz, Upbeat", "upbeat")).toBe(true);
  });
});
