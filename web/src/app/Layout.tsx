// The frame of every page: the header with the main navigation, the page, and
// the player bar, which stays while pages change.
import { lazy, Suspense, useEffect, useState } from "react";
import { Link, NavLink, Outlet, useNavigate, useNavigation } from "react-router";
import { AudioLines, Moon, Sun } from "lucide-react";
import { Notices } from "@/components/Announcer";
import { useSession } from "@/features/auth";
import { PlayerBar, useNowPlaying } from "@/features/player";

const SignInPage = lazy(() =>
  import("@/features/auth/components/AuthPage").then((m) => ({ default: m.SignInPage })),
);

type Theme = "dark" | "light";
const THEME_KEY = "neutone.theme";

function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() => {
    const saved = localStorage.getItem(THEME_KEY);
    if (saved === "dark" || saved === "light") return saved;
    return window.matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark";
  });
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return [
    theme,
    () => {
      const next = theme === "dark" ? "light" : "dark";
      localStorage.setItem(THEME_KEY, next);
      setTheme(next);
    },
  ];
}

function Header() {
  const { user, balance, signOut } = useSession();
  const navigate = useNavigate();
  const [theme, toggleTheme] = useTheme();
  const link = (to: string, label: string) => (
    <NavLink
      to={to}
      end
      className="rounded-full px-3 py-1.5 font-medium text-muted no-underline hover:bg-raised hover:text-ink aria-[current=page]:bg-raised aria-[current=page]:text-ink"
    >
      {label}
    </NavLink>
  );
  return (
    <header className="sticky top-0 z-30 border-b border-line bg-bg/90 backdrop-blur">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-1 px-4 py-2">
        <Link to="/" className="flex items-center gap-2 text-lg font-extrabold text-ink no-underline" aria-label="Neutone home">
          <AudioLines aria-hidden className="size-6 text-link" />
          <span aria-hidden>Neutone</span>
        </Link>
        <nav
          aria-label="Main"
          className="order-last -mx-1 flex w-full items-center gap-1 overflow-x-auto whitespace-nowrap pb-1 text-sm sm:order-none sm:w-auto sm:flex-1 sm:pb-0"
        >
          {link("/", "Discover")}
          {user && link("/create", "Create")}
          {user && link("/songs", "My songs")}
          {user && link("/liked", "Liked")}
          {user && link("/credits", balance === undefined ? "Credits" : `Credits: ${balance}`)}
          {user && link("/settings", "Settings")}
          {user === null && link("/sign-in", "Sign in")}
          {user === null && link("/sign-up", "Sign up")}
        </nav>
        <div className="ml-auto flex items-center gap-1">
          <button
            type="button"
            className="icon ghost"
            aria-label={theme === "dark" ? "Use the light theme" : "Use the dark theme"}
            title={theme === "dark" ? "Light theme" : "Dark theme"}
            onClick={toggleTheme}
          >
            {theme === "dark" ? <Sun aria-hidden className="size-5" /> : <Moon aria-hidden className="size-5" />}
          </button>
          {user && (
            <button
              type="button"
              className="ghost text-sm"
              onClick={async () => {
                await signOut();
                navigate("/");
              }}
            >
              Sign out
            </button>
          )}
        </div>
      </div>
    </header>
  );
}

export function Layout() {
  const { user } = useSession();
  const loading = useNavigation().state === "loading";
  const playing = Boolean(useNowPlaying().song);
  return (
    <>
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-surface focus:p-2"
      >
        Skip to content
      </a>
      <Header />
      {/* Titles, names and prompts are people's text: a word wider than a phone
          wraps anywhere rather than widen the page. */}
      <main id="main" className={`mx-auto max-w-6xl px-4 pt-4 wrap-anywhere ${playing ? "pb-36 sm:pb-28" : "pb-10"}`} aria-busy={loading}>
        {user === undefined ? <p className="muted">Loading…</p> : <Outlet />}
      </main>
      <PlayerBar />
      <Notices />
    </>
  );
}

/** The pages of one's own account: the sign-in form in their place when signed out. */
export function RequireUser() {
  const { user } = useSession();
  if (user === null) {
    return (
      <Suspense fallback={<p className="muted">Loading…</p>}>
        <SignInPage />
      </Suspense>
    );
  }
  return <Outlet />;
}

export function NotFound() {
  return (
    <section>
      <h1>Not found</h1>
      <p>
        <Link to="/">Back to Discover</Link>
      </p>
    </section>
  );
}
