// Account settings: the profile, the password, sessions, API keys, and deleting
// the account. Each section is its own form with its own errors and notices, so
// a problem in one never shows up in another.
import { useEffect, useId, useRef, useState } from "react";
import { create } from "@bufbuild/protobuf";
import {
  FieldMaskSchema,
  timestampDate,
  timestampFromDate,
  type Timestamp,
} from "@bufbuild/protobuf/wkt";
import { problemOf, users } from "@/lib/api";
import { useAction } from "@/lib/useAction";
import { ErrorBanner, Field, generalProblem, InputField } from "@/components/Field";
import { NewPasswordField } from "@/components/NewPasswordField";
import type { ApiKey } from "@/gen/neutone/v1/api_key_pb";
import type { User } from "@/gen/neutone/v1/user_pb";
import { useNavigate } from "react-router";
import { useSession } from "@/features/auth";

export function SettingsPage() {
  const { user } = useSession();
  if (!user) return null; // signed-in only: the app shows the sign-in page instead
  return (
    <div className="settings">
      <h1>Settings</h1>
      <ProfileSection user={user} />
      <PasswordSection />
      <SessionsSection />
      <ApiKeysSection />
      <DeleteAccountSection />
    </div>
  );
}

/** A titled part of the page, a region named by its heading: tests and screen
 * readers find each form's fields within it. */
function Section({
  title,
  children,
}: {
  title: string;
  children: (headingId: string) => React.ReactNode;
}) {
  const id = useId();
  return (
    <section className="setting" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children(id)}
    </section>
  );
}

/** One form's request (useAction). A wrong password (BAD_CREDENTIALS carries no
 * field violation) is shown under the password field the form names, where the
 * mistake is. */
function useSettingsAction(passwordField?: string) {
  const { run, busy, problem } = useAction();
  const fields: Record<string, string> = { ...problem?.fields };
  if (passwordField && problem?.reason === "BAD_CREDENTIALS") {
    fields[passwordField] = problem.message;
  }
  const banner = (shown: string[]) => generalProblem(problem && { ...problem, fields }, shown);
  return { run, busy, fields, banner };
}

type SettingsAction = ReturnType<typeof useSettingsAction>;

interface ActionFormProps {
  action: SettingsAction;
  /** The fields the form shows its own violations under; the banner tells the rest. */
  shown?: string[];
  onSubmit(): Promise<void>;
  /** Shown once the request succeeded, until the next submit. */
  notice?: string;
  submitLabel: string;
  submitClassName?: "secondary" | "danger";
  /** False keeps the form from being sent (its button disabled). */
  ready?: boolean;
  "aria-label"?: string;
  children?: React.ReactNode;
}

/** A settings form: the banner for what no field shows, the success notice, the
 * fields, and the one button that runs the request. */
function ActionForm({
  action,
  shown = [],
  onSubmit,
  notice,
  submitLabel,
  submitClassName,
  ready = true,
  "aria-label": label,
  children,
}: ActionFormProps) {
  const [succeeded, setSucceeded] = useState(false);
  return (
    <form
      aria-label={label}
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        if (!ready) return;
        setSucceeded(false);
        action.run(async () => {
          await onSubmit();
          setSucceeded(true);
        });
      }}
    >
      <ErrorBanner message={action.banner(shown)} />
      {notice && succeeded && (
        <p className="banner ok" role="status">
          {notice}
        </p>
      )}
      {children}
      <div className="actions">
        <button type="submit" className={submitClassName} disabled={!ready || action.busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

function ProfileSection({ user }: { user: User }) {
  const { setUser } = useSession();
  const [name, setName] = useState(user.displayName);
  const action = useSettingsAction();
  return (
    <Section title="Profile">
      {() => (
        <ActionForm
          action={action}
          shown={["user.display_name"]}
          notice="Saved."
          submitLabel="Save"
          onSubmit={async () => {
            const reply = await users.updateCurrentUser({
              user: { displayName: name },
              updateMask: create(FieldMaskSchema, { paths: ["display_name"] }),
            });
            if (reply.user) {
              setUser(reply.user); // the nav and new pages show the new name
              setName(reply.user.displayName); // as stored: trimmed
            }
          }}
        >
          <InputField
            label="Display name"
            hint="Shown on the songs you publish; 1-50 characters."
            error={action.fields["user.display_name"]}
            autoComplete="nickname"
            maxLength={50}
            value={name}
            onChange={setName}
          />
        </ActionForm>
      )}
    </Section>
  );
}

function PasswordSection() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const action = useSettingsAction("current_password");
  return (
    <Section title="Password">
      {() => (
        <ActionForm
          action={action}
          shown={["current_password", "new_password"]}
          notice="Password changed; your other sessions were signed out."
          submitLabel="Change password"
          onSubmit={async () => {
            await users.changePassword({ currentPassword: current, newPassword: next });
            setCurrent("");
            setNext("");
          }}
        >
          <InputField
            label="Current password"
            error={action.fields.current_password}
            type="password"
            autoComplete="current-password"
            maxLength={128}
            value={current}
            onChange={setCurrent}
          />
          <NewPasswordField error={action.fields.new_password} value={next} onChange={setNext} />
        </ActionForm>
      )}
    </Section>
  );
}

function SessionsSection() {
  const { setUser } = useSession();
  const navigate = useNavigate();
  const action = useSettingsAction();
  return (
    <Section title="Sessions">
      {() => (
        <ActionForm
          action={action}
          submitLabel="Sign out everywhere"
          submitClassName="secondary"
          onSubmit={async () => {
            await users.signOutEverywhere({});
            // This session ended too: the same local state as signing out.
            setUser(null);
            navigate("/");
          }}
        >
          <p>
            Signs you out on every device and browser, this one included. API keys keep working;
            revoke them below.
          </p>
        </ActionForm>
      )}
    </Section>
  );
}

// The documented limits (user_service.proto).
const KEY_PAGE = 50;
const KEY_MAX_DAYS = 366;

function formatTime(time: Timestamp | undefined, none: string): string {
  return time ? timestampDate(time).toLocaleString() : none;
}

/** A date input's value (local YYYY-MM-DD) for a day `days` from today. */
function dayFromToday(days: number): string {
  const day = new Date();
  day.setDate(day.getDate() + days);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** The start of a date input's day in local time: "expires on" that day. */
function startOfDay(value: string): Date {
  const [year, month, day] = value.split("-").map(Number);
  return new Date(year, month - 1, day);
}

function isLive(key: ApiKey, now: Date): boolean {
  return !key.revokeTime && !(key.expireTime && timestampDate(key.expireTime) <= now);
}

function ApiKeysSection() {
  const [keys, setKeys] = useState<ApiKey[]>([]);
  const [nextPage, setNextPage] = useState("");
  const [loaded, setLoaded] = useState(false);
  const [listError, setListError] = useState<string>();
  const [name, setName] = useState("");
  const [expires, setExpires] = useState("");
  const [created, setCreated] = useState<{ name: string; secret: string }>();
  const making = useSettingsAction();
  const revoking = useSettingsAction();

  async function load(pageToken: string) {
    setListError(undefined);
    try {
      const reply = await users.listApiKeys({ pageSize: KEY_PAGE, pageToken });
      setKeys((shown) => (pageToken ? [...shown, ...reply.apiKeys] : reply.apiKeys));
      setNextPage(reply.nextPageToken);
    } catch (error) {
      setListError(problemOf(error).message);
    } finally {
      setLoaded(true);
    }
  }

  useEffect(() => {
    load("");
  }, []);

  const now = new Date();
  return (
    <Section title="API keys">
      {(heading) => (
        <>
          <p>
            Scripts and other programs use an API key in place of your password. Revoke a key as
            soon as you stop using it.
          </p>
          <ActionForm
            aria-label="New API key"
            action={making}
            shown={["display_name", "expire_time"]}
            submitLabel="Create key"
            onSubmit={async () => {
              setCreated(undefined);
              const reply = await users.createApiKey({
                displayName: name,
                expireTime: expires ? timestampFromDate(startOfDay(expires)) : undefined,
              });
              const key = reply.apiKey;
              if (key) setKeys((shown) => [key, ...shown]);
              setCreated({ name: key?.displayName ?? name, secret: reply.secret });
              setName("");
              setExpires("");
            }}
          >
            <InputField
              label="Key name"
              hint="What the key is for, e.g. the script that uses it; 1-50 characters."
              error={making.fields.display_name}
              maxLength={50}
              autoComplete="off"
              value={name}
              onChange={setName}
            />
            <InputField
              label="Expires on"
              hint={`Optional; the key stops working when that day begins, at most ${KEY_MAX_DAYS} days from now. Without a date it works until you revoke it.`}
              error={making.fields.expire_time}
              type="date"
              min={dayFromToday(1)}
              max={dayFromToday(KEY_MAX_DAYS)}
              value={expires}
              onChange={setExpires}
            />
          </ActionForm>
          {created && <NewSecret key={created.secret} {...created} />}
          <ErrorBanner message={listError ?? revoking.banner([])} />
          {!loaded ? (
            <p className="muted">Loading keys…</p>
          ) : keys.length === 0 ? (
            <p className="muted">No API keys yet.</p>
          ) : (
            <div className="scroll">
              <table aria-labelledby={heading}>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Prefix</th>
                    <th scope="col">Created</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Last used</th>
                    <th scope="col">Revoked</th>
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {keys.map((key) => (
                    <tr key={key.id}>
                      <td>{key.displayName}</td>
                      <td>
                        <code>{key.secretPrefix}</code>
                      </td>
                      <td>{formatTime(key.createTime, "")}</td>
                      <td>
                        {formatTime(key.expireTime, "Never")}
                        {key.expireTime && timestampDate(key.expireTime) <= now && " (expired)"}
                      </td>
                      <td>{formatTime(key.lastUseTime, "Never")}</td>
                      <td>{formatTime(key.revokeTime, "No")}</td>
                      <td>
                        {isLive(key, now) && (
                          <button
                            type="button"
                            className="secondary"
                            disabled={revoking.busy}
                            aria-label={`Revoke ${key.displayName}`}
                            onClick={() =>
                              revoking.run(async () => {
                                const reply = await users.revokeApiKey({ apiKeyId: key.id });
                                const revoked = reply.apiKey;
                                if (revoked) {
                                  setKeys((shown) =>
                                    shown.map((k) => (k.id === revoked.id ? revoked : k)),
                                  );
                                }
                              })
                            }
                          >
                            Revoke
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {nextPage && (
            <p>
              <button type="button" className="secondary" onClick={() => load(nextPage)}>
                Show more keys
              </button>
            </p>
          )}
        </>
      )}
    </Section>
  );
}

/** A new key's secret: the service keeps only its hash, so this is the one
 * chance to copy it. */
function NewSecret({ name, secret }: { name: string; secret: string }) {
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string>();

  async function copy() {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied("Copied.");
    } catch {
      // No clipboard (an insecure origin, or permission refused): select it for
      // the keyboard instead.
      input.current?.select();
      setCopied("Copying is blocked here: the secret is selected, copy it with the keyboard.");
    }
  }

  return (
    <div className="banner ok secret">
      <p role="status">
        Created the key “{name}”. This secret is shown only once: copy it now and keep it safe.
      </p>
      <Field label="Secret">
        {(props) => (
          <input
            {...props}
            ref={input}
            readOnly
            value={secret}
            onFocus={(e) => e.currentTarget.select()}
          />
        )}
      </Field>
      <div className="actions">
        <button type="button" onClick={copy}>
          Copy
        </button>
        <small aria-live="polite">{copied}</small>
      </div>
    </div>
  );
}

function DeleteAccountSection() {
  const { setUser } = useSession();
  const navigate = useNavigate();
  const [password, setPassword] = useState("");
  const [understood, setUnderstood] = useState(false);
  const action = useSettingsAction("password");
  return (
    <Section title="Delete account">
      {() => (
        <ActionForm
          action={action}
          shown={["password"]}
          submitLabel="Delete my account"
          submitClassName="danger"
          ready={understood}
          onSubmit={async () => {
            await users.deleteAccount({ password });
            // The account and its sessions are gone: the same local state as signing out.
            setUser(null);
            navigate("/");
          }}
        >
          <p>
            This deletes your account for good: your songs and their files, your uploads, likes and
            plays, your sessions and your API keys. It cannot be undone.
          </p>
          <InputField
            label="Password"
            error={action.fields.password}
            type="password"
            autoComplete="current-password"
            maxLength={128}
            value={password}
            onChange={setPassword}
          />
          <label className="choice">
            <input
              type="checkbox"
              checked={understood}
              onChange={(e) => setUnderstood(e.target.checked)}
            />
            I understand this deletes my songs for good
          </label>
        </ActionForm>
      )}
    </Section>
  );
}
