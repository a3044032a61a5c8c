// The server reports progress in steps (a stage starts, a stage ends) and an
// estimate of the time left. Between reports the bar moves on at the pace the
// estimate implies, never backwards and never to the end before the server says so.
import { useEffect, useRef, useState } from "react";

const TICK_MS = 200;
// Without an estimate the bar eases toward this much more than reported.
const STEP_WITHOUT_ESTIMATE = 0.15;
const EASE_SECONDS = 8;
const CEILING = 0.97;

/** The fraction (0-1) to show `elapsed` seconds after the server reported
 * `reported` with `secondsLeft` to go. */
export function progressAt(reported: number, secondsLeft: number | undefined, elapsed: number): number {
  const remaining = 1 - reported;
  const moved =
    secondsLeft !== undefined && secondsLeft > 0
      ? remaining * Math.min(1, elapsed / secondsLeft)
      : Math.min(remaining, STEP_WITHOUT_ESTIMATE) * (1 - Math.exp(-elapsed / EASE_SECONDS));
  return Math.max(reported, Math.min(reported + moved, CEILING));
}

export function useSmoothProgress(reported: number, secondsLeft: number | undefined): number {
  const [shown, setShown] = useState(reported);
  const since = useRef(performance.now());
  useEffect(() => {
    since.current = performance.now();
    setShown((current) => Math.max(current, reported));
    const timer = window.setInterval(() => {
      const elapsed = (performance.now() - since.current) / 1000;
      setShown((current) => Math.max(current, progressAt(reported, secondsLeft, elapsed)));
    }, TICK_MS);
    return () => window.clearInterval(timer);
  }, [reported, secondsLeft]);
  return shown;
}
