// Sign up and sign in. Signing up only mails a link to confirm the address
// (ConfirmSignUpPage finishes it); signing in opens a session, whose token the
// gateway keeps in an HttpOnly cookie, so the page only learns who the user is.
import { useState } from "react";
import { useMutation } from "@connectrpc/connect-query";
import { useAction } from "@/lib/useAction";
import { UserService } from "@/gen/neutone/v1/user_service_pb";
import { ErrorBanner, InputField } from "@/components/Field";
import { Link, useNavigate } from "react-router";
import { useSession } from "../session";

export function SignInPage() {
  return <AuthPage mode="sign-in" />;
}

export function SignUpPage() {
  return <AuthPage mode="sign-up" />;
}

function AuthPage({ mode }: { mode: "sign-in" | "sign-up" }) {
  const { setUser } = useSession();
  const navigate = useNavigate();
  const signUp = useMutation(UserService.method.signUp);
  const signIn = useMutation(UserService.method.signIn);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [displayName, setDisplayName] = useState("");
  const { run, busy, problem, fields } = useAction();
  // The address a confirmation link was mailed to.
  const [sentTo, setSentTo] = useState<string>();
  const signingUp = mode === "sign-up";

  function submit(event: React.FormEvent) {
    event.preventDefault();
    run(async () => {
      if (signingUp) {
        // The same answer whether or not the address has an account, so the
        // page says only that a link went out; nobody is signed in yet.
        await signUp.mutateAsync({ email, password, displayName });
        setPassword("");
        setSentTo(email.trim());
      } else {
        const reply = await signIn.mutateAsync({ email, password });
        setUser(reply.user ?? null);
        navigate("/songs");
      }
    });
  }

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
            <Link to="/sign-in">
              Sign in
            </Link>
          </>
        ) : (
          <>
            New here?{" "}
            <Link to="/sign-up">
              Create an account
            </Link>
          </>
        )}
      </p>
      {!signingUp && (
        <p>
          <Link to="/forgot-password">
            Forgot password?
          </Link>
        </p>
      )}
    </section>
  );
}
