// The page frame and the routes.
import { AuthPage } from "./pages/Auth";
import { ConfirmSignUpPage } from "./pages/ConfirmSignUp";
import { CreatePage } from "./pages/Create";
import { CreditsPage } from "./pages/Credits";
import { FeedPage } from "./pages/Feed";
import { MySongsPage } from "./pages/MySongs";
import { ForgotPasswordPage, ResetPasswordPage } from "./pages/PasswordReset";
import { SettingsPage } from "./pages/Settings";
import { SongPage } from "./pages/SongPage";
import { navigate, onLinkClick, useLocation } from "./router";
import { useSession } from "./session";

const SIGNED_IN_ONLY = ["/create", "/songs", "/credits", "/settings"];

function Nav() {
  const { user, balance, signOut } = useSession();
  const path = useLocation().pathname;
  const link = (href: string, label: string) => (
    <a href={href} onClick={onLinkClick} aria-current={path === href ? "page" : undefined}>
      {label}
    </a>
  );
  return (
    <header className="top">
      <a href="/" onClick={onLinkClick} className="brand" aria-label="Neutone home">
        Neutone
      </a>
      <nav aria-label="Main">
        {link("/", "Discover")}
        {user && link("/create", "Create")}
        {user && link("/songs", "My songs")}
        {user && link("/credits", balance === undefined ? "Credits" : `Credits: ${balance}`)}
        {user && link("/settings", "Settings")}
        {user === null && link("/sign-in", "Sign in")}
        {user === null && link("/sign-up", "Sign up")}
        {user && (
          <button
            type="button"
            className="link"
            onClick={async () => {
              await signOut();
              navigate("/");
            }}
          >
            Sign out
          </button>
        )}
      </nav>
    </header>
  );
}

function Page() {
  const { user } = useSession();
  const path = useLocation().pathname;
  if (user === undefined) return <p className="muted">Loading…</p>;
  const needsUser = SIGNED_IN_ONLY.some((prefix) => path === prefix);
  if (needsUser && user === null) return <AuthPage mode="sign-in" />;
  if (path === "/") return <FeedPage />;
  if (path === "/sign-in") return <AuthPage mode="sign-in" />;
  if (path === "/sign-up") return <AuthPage mode="sign-up" />;
  if (path === "/confirm-sign-up") return <ConfirmSignUpPage />;
  if (path === "/forgot-password") return <ForgotPasswordPage />;
  if (path === "/reset-password") return <ResetPasswordPage />;
  if (path === "/create") return <CreatePage />;
  if (path === "/songs") return <MySongsPage />;
  if (path === "/credits") return <CreditsPage />;
  if (path === "/settings") return <SettingsPage />;
  const song = path.match(/^\/songs\/([0-9a-f-]{36})$/);
  if (song) return <SongPage songId={song[1]} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        <a href="/" onClick={onLinkClick}>
          Back to the feed
        </a>
      </p>
    </section>
  );
}

export function App() {
  return (
    <>
      <Nav />
      <main>
        <Page />
      </main>
    </>
  );
}
