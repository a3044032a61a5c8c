// Sign up and sign in. The gateway keeps the session token in an HttpOnly
// cookie; the page only learns who the user is.
import { useState } from "react";
import { problemOf, users, type Problem } from "../api";
import { ErrorBanner, Field } from "../components/Field";
import { navigate, onLinkClick } from "../router";
import { useSession } from "../session";

export function AuthPage({ mode }: { mode: "sign-in" | "sign-up" }) {
  const { setUser } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const signingUp = mode === "sign-up";

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const reply = signingUp
        ? await users.signUp({ email, password, displayName })
        : await users.signIn({ email, password });
      setUser(reply.user ?? null);
      navigate("/songs");
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  const fields = problem?.fields ?? {};
  const general = problem && Object.keys(fields).length === 0 ? problem.message : undefined;
  return (
    <section className="narrow">
      <h1>{signingUp ? "Create your account" : "Sign in"}</h1>
      <form onSubmit={submit} noValidate aria-label={signingUp ? "Sign up" : "Sign in"}>
        <ErrorBanner message={general} />
        <Field label="Email" error={fields.email}>
          {(props) => (
            <input
              {...props}
              type="email"
              autoComplete="email"
              maxLength={254}
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field
          label="Password"
          hint={signingUp ? "8-128 characters." : undefined}
          error={fields.password}
        >
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete={signingUp ? "new-password" : "current-password"}
              maxLength={128}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        {signingUp && (
          <Field
            label="Display name"
            hint="Shown on the songs you publish; 1-50 characters."
            error={fields.display_name}
          >
            {(props) => (
              <input
                {...props}
                autoComplete="nickname"
                maxLength={50}
                value={displayName}
                onChange={(e) => setDisplayName(e.target.value)}
              />
            )}
          </Field>
        )}
        <button type="submit" disabled={busy}>
          {signingUp ? "Sign up" : "Sign in"}
        </button>
      </form>
      <p>
        {signingUp ? (
          <>
            Have an account?{" "}
            <a href="/sign-in" onClick={onLinkClick}>
              Sign in
            </a>
          </>
        ) : (
          <>
            New here?{" "}
            <a href="/sign-up" onClick={onLinkClick}>
              Create an account
            </a>
          </>
        )}
      </p>
    </section>
  );
}
