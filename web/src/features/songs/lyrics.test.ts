import { describe, expect, it } from "vitest";
import { lyricSections } from "./lyrics";

describe("lyricSections", () => {
  it("splits lyrics at their tags and names each section after its tag", () => {
    expect(lyricSections("[verse]\nla la\nla\n\n[chorus]\noh oh\n")).toEqual([
      { name: "Verse", lines: ["la la", "la"] },
      { name: "Chorus", lines: ["oh oh"] },
    ]);
  });

  it("keeps lines before any tag as an unnamed section", () => {
    expect(lyricSections("\nhello\n[pre_chorus]\nthere")).toEqual([
      { name: "", lines: ["hello"] },
      { name: "Pre chorus", lines: ["there"] },
    ]);
  });

  it("leaves out empty sections and finds none in no lyrics", () => {
    expect(lyricSections("[intro]\n\n[verse]\nwords")).toEqual([{ name: "Verse", lines: ["words"] }]);
    expect(lyricSections("")).toEqual([]);
  });
});
