// Forgotten passwords: ask for a link by email (/forgot-password), then set a
// new password with the link's token (/reset-password?token=...).
import { useState } from "react";
import { useMutation } from "@connectrpc/connect-query";
import { useAction } from "@/lib/useAction";
import { UserService } from "@/gen/neutone/v1/user_service_pb";
import { ErrorBanner, generalProblem, InputField } from "@/components/Field";
import { NewPasswordField } from "@/components/NewPasswordField";
import { Link, useSearchParams } from "react-router";
import { useSession } from "../session";

export function ForgotPasswordPage() {
  const [email, setEmail] = useState("");
  const requestReset = useMutation(UserService.method.requestPasswordReset);
  // The address the link was asked for; the answer is the same for every
  // address, so the page cannot say more than "if an account exists".
  const [sentTo, setSentTo] = useState<string>();
  const action = useAction();

  function submit(event: React.FormEvent) {
    event.preventDefault();
    action.run(async () => {
      await requestReset.mutateAsync({ email });
      setSentTo(email.trim());
    });
  }

  return (
    <section className="narrow">
      <h1>Reset your password</h1>
      {sentTo !== undefined ? (
        <p className="banner ok" role="status">
          If an account exists for {sentTo}, we sent a link to reset its password; it works for 30
          minutes.
        </p>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Request a password reset">
          <ErrorBanner message={generalProblem(action.problem, ["email"])} />
          <InputField
            label="Email"
            hint="We mail a link to set a new password to this address."
            error={action.fields.email}
            type="email"
            autoComplete="email"
            maxLength={254}
            value={email}
            onChange={setEmail}
          />
          <button type="submit" disabled={action.busy}>
            Send reset link
          </button>
        </form>
      )}
      <p>
        <Link to="/sign-in">
          Back to sign in
        </Link>
      </p>
    </section>
  );
}

export function ResetPasswordPage() {
  const token = useSearchParams()[0].get("token") ?? "";
  const { refresh } = useSession();
  const [password, setPassword] = useState("");
  const resetPassword = useMutation(UserService.method.resetPassword);
  const [done, setDone] = useState(false);
  const action = useAction();

  function submit(event: React.FormEvent) {
    event.preventDefault();
    action.run(async () => {
      await resetPassword.mutateAsync({ token, newPassword: password });
      setPassword("");
      setDone(true);
      // Every session of the account ended; if this browser had one, the nav
      // should stop claiming to be signed in.
      refresh();
    });
  }

  // A spent, expired or missing token needs a new link, not another try.
  const needsNewLink = !token || action.problem?.reason === "RESET_TOKEN_INVALID";
  return (
    <section className="narrow">
      <h1>Choose a new password</h1>
      {done ? (
        <p className="banner ok" role="status">
          Your password is set, and every session of the account was signed out.{" "}
          <Link to="/sign-in">
            Sign in with your new password
          </Link>
        </p>
      ) : (
        <form onSubmit={submit} noValidate aria-label="Reset password">
          <ErrorBanner
            message={
              token ? generalProblem(action.problem, ["new_password"]) : "This link is incomplete: it has no token."
            }
          />
          <NewPasswordField
            error={action.fields.new_password}
            value={password}
            onChange={setPassword}
          />
          <button type="submit" disabled={action.busy || !token}>
            Set password
          </button>
        </form>
      )}
      {needsNewLink && !done && (
        <p>
          <Link to="/forgot-password">
            Request a new link
          </Link>
        </p>
      )}
    </section>
  );
}
