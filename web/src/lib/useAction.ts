import { useState } from "react";
import { problemOf, type Problem } from "@/lib/api";

/** A form's request, one at a time: busy while it runs, and the server's problem
 * (its message and field violations) when it fails, until the next try. */
export function useAction() {
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function run(action: () => Promise<void>): Promise<void> {
    setBusy(true);
    setProblem(null);
    try {
      await action();
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  return { run, busy, problem, fields: problem?.fields ?? {} };
}
