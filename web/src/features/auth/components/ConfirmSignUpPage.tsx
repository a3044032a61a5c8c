// The page a sign-up's emailed link opens (/confirm-sign-up?token=...): it
// creates the account and signs it in. The gateway turns the answer's session
// token into the session cookie, so the page then asks who is signed in.
import { useEffect, useState } from "react";
import { problemOf, users, type Problem } from "@/lib/api";
import { ErrorBanner } from "@/components/Field";
import { Link, useNavigate, useSearchParams } from "react-router";
import { useSession } from "../session";

// A token works once, so it is sent once per page load however often the page
// mounts (StrictMode mounts it twice in development).
const confirmations = new Map<string, Promise<unknown>>();

function confirmOnce(token: string): Promise<unknown> {
  let pending = confirmations.get(token);
  if (!pending) {
    pending = users.confirmSignUp({ token });
    confirmations.set(token, pending);
  }
  return pending;
}

export function ConfirmSignUpPage() {
  const token = useSearchParams()[0].get("token") ?? "";
  const { refresh } = useSession();
  const navigate = useNavigate();
  const [problem, setProblem] = useState<Problem | null>(null);

  useEffect(() => {
    if (!token) return;
    let live = true;
    confirmOnce(token).then(
      async () => {
        if (!live) return;
        await refresh();
        // Replace: going back should not land on a spent link.
        if (live) navigate("/songs", { replace: true });
      },
      (error) => {
        if (live) setProblem(problemOf(error));
      },
    );
    return () => {
      live = false;
    };
  }, [token, refresh, navigate]);

  const failure = !token
    ? "This link is incomplete: it has no token."
    : problem && (problem.message || "This link did not work.");
  return (
    <section className="narrow">
      <h1>Confirm your email</h1>
      {!failure ? (
        <p role="status">Creating your account…</p>
      ) : (
        <>
          <ErrorBanner message={failure} />
          <p>
            <Link to="/sign-up">
              Sign up again
            </Link>
            {problem?.reason === "EMAIL_TAKEN" && (
              <>
                {" "}
                or{" "}
                <Link to="/sign-in">
                  sign in to the existing account
                </Link>
              </>
            )}
          </p>
        </>
      )}
    </section>
  );
}
