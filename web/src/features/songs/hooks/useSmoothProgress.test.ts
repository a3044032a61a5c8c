import { describe, expect, it } from "vitest";
import { progressAt } from "./useSmoothProgress";

describe("progressAt", () => {
  it("moves at the pace the estimate of the time left implies", () => {
    expect(progressAt(0.2, 10, 0)).toBeCloseTo(0.2);
    expect(progressAt(0.2, 10, 5)).toBeCloseTo(0.6);
  });

  it("never reaches the end before the server says so", () => {
    expect(progressAt(0.2, 10, 60)).toBeLessThan(1);
    expect(progressAt(0.5, undefined, 1000)).toBeLessThanOrEqual(0.65 + 1e-9);
  });

  it("never goes below what was reported", () => {
    expect(progressAt(0.99, 5, 1)).toBeCloseTo(0.99);
    expect(progressAt(0.4, undefined, 0)).toBeCloseTo(0.4);
  });
});
