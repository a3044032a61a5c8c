// Sign up and sign in. Signing up only mails a link to confirm the address
// (ConfirmSignUpPage finishes it); signing in opens a session, whose token the
// gateway keeps in an HttpOnly cookie, so the page only learns who the user is.
import { useState } from "react";
import { problemOf, users, type Problem } from "../api";
import { ErrorBanner, InputField } from "../components/Field";
import { navigate, onLinkClick } from "../router";
import { useSession } from "../session";

export function AuthPage({ mode }: { mode: "sign-in" | "sign-up" }) {
  const { setUser } = useSession();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  // The address a confirmation link was mailed to.
  const [sentTo, setSentTo] = useState<string>();
  const signingUp = mode === "sign-up";

  async function submit(event: React.FormEvent) {
    event.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      if (signingUp) {
        // The same answer whether or not the address has an account, so the
        // page says only that a link went out; nobody is signed in yet.
        await users.signUp({ email, password, displayName });
        setPassword("");
        setSentTo(email.trim());
      } else {
        const reply = await users.signIn({ email, password });
        setUser(reply.user ?? null);
        navigate("/songs");
      }
    } catch (error) {
      setProblem(problemOf(error));
    } finally {
      setBusy(false);
    }
  }

  const fields = problem?.fields ?? {};
  const general = problem && Object.keys(fields).length === 0 ? problem.message : undefined;
  if (signingUp && sentTo !== undefined) {
    return (
      <section className="narrow">
        <h1>Create your account</h1>
        <div className="banner ok" role="status">
          <h2>Check your email</h2>
          <p>
            We sent a link to <strong>{sentTo}</strong> to confirm the address and create your
            account. The link works for 24 hours.
          </p>
        </div>
        <p>
          <button type="button" className="link" onClick={() => setSentTo(undefined)}>
            Sign up with another email
          </button>
        </p>
      </section>
    );
  }
  return (
    <section className="narrow">
      <h1>{signingUp ? "Create your account" : "Sign in"}</h1>
      <form onSubmit={submit} noValidate aria-label={signingUp ? "Sign up" : "Sign in"}>
        <ErrorBanner message={general} />
        <InputField
          label="Email"
          error={fields.email}
          type="email"
          autoComplete="email"
          maxLength={254}
          value={email}
          onChange={setEmail}
        />
        <InputField
          label="Password"
          hint={signingUp ? "8-128 characters." : undefined}
          error={fields.password}
          type="password"
          autoComplete={signingUp ? "new-password" : "current-password"}
          maxLength={128}
          value={password}
          onChange={setPassword}
        />
        {signingUp && (
          <InputField
            label="Display name"
            hint="Shown on the songs you publish; 1-50 characters."
            error={fields.display_name}
            autoComplete="nickname"
            maxLength={50}
            value={displayName}
            onChange={setDisplayName}
          />
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
      {!signingUp && (
        <p>
          <a href="/forgot-password" onClick={onLinkClick}>
            Forgot password?
          </a>
        </p>
      )}
    </section>
  );
}
