// The frame of every page: the header with the main navigation, the page, and
// the player bar, which stays while pages change.
import { lazy, Suspense, useEffect, useState } from "react";
import { Link, NavLink, Outlet, useNavigate, useNavigation } from "react-router";
import {
  AudioLines,
  Coins,
  Compass,
  Heart,
  Library,
  LogIn,
  Moon,
  Settings,
  Sparkles,
  Sun,
  UserPlus,
  type LucideIcon,
} from "lucide-react";
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

interface NavItem {
  to: string;
  label: string;
  icon: LucideIcon;
}

/** In the header's navigation on a wide screen; a gear beside the theme on a phone or tablet. */
const SETTINGS: NavItem = { to: "/settings", label: "Settings", icon: Settings };

/** The main navigation's pages for whoever is (or is not) signed in. */
function useNavItems(): NavItem[] {
  const { user, balance } = useSession();
  const discover = { to: "/", label: "Discover", icon: Compass };
  if (user === null) {
    return [discover, { to: "/sign-in", label: "Sign in", icon: LogIn }, { to: "/sign-up", label: "Sign up", icon: UserPlus }];
  }
  if (user === undefined) return [discover];
  return [
    discover,
    { to: "/create", label: "Create", icon: Sparkles },
    { to: "/songs", label: "My songs", icon: Library },
    { to: "/liked", label: "Liked", icon: Heart },
    { to: "/credits", label: balance === undefined ? "Credits" : `Credits: ${balance}`, icon: Coins },
  ];
}

function Header() {
  const { user, signOut } = useSession();
  const navigate = useNavigate();
  const [theme, toggleTheme] = useTheme();
  const pages = [...useNavItems(), ...(user ? [SETTINGS] : [])];
  return (
    <header className="sticky top-0 z-30 border-b border-line bg-bg/90 backdrop-blur">
      <div className="mx-auto flex max-w-6xl items-center gap-2 px-4 py-2 sm:gap-4">
        <Link to="/" className="flex items-center gap-2 text-lg font-extrabold text-ink no-underline" aria-label="Neutone home">
          <AudioLines aria-hidden className="size-6 text-link" />
          <span aria-hidden>Neutone</span>
        </Link>
        {/* On a wide screen the pages are named in the header; phones and tablets
            have them in the tab bar along the bottom, within reach of a thumb. */}
        <nav aria-label="Main" className="hidden flex-1 items-center gap-1 whitespace-nowrap text-sm lg:flex">
          {pages.map((item) => (
            <NavLink
              key={item.to}
              to={item.to}
              end
              className="rounded-full px-3 py-1.5 font-medium text-muted no-underline hover:bg-raised hover:text-ink aria-[current=page]:bg-raised aria-[current=page]:text-ink"
            >
              {item.label}
            </NavLink>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-1">
          {user && (
            <NavLink
              to={SETTINGS.to}
              className="inline-flex size-11 items-center justify-center rounded-full text-muted hover:bg-raised hover:text-ink aria-[current=page]:text-ink lg:hidden"
              aria-label={SETTINGS.label}
              title={SETTINGS.label}
            >
              <SETTINGS.icon aria-hidden className="size-5" />
            </NavLink>
          )}
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
              className="ghost whitespace-nowrap text-sm"
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

/** A phone's or tablet's main navigation: a tab per page along the bottom of the screen. */
function TabBar() {
  const items = useNavItems();
  return (
    <nav
      aria-label="Main"
      className="fixed inset-x-0 bottom-0 z-40 h-(--tab-bar-height) border-t border-line bg-surface pb-[env(safe-area-inset-bottom)] lg:hidden"
    >
      <div className="mx-auto grid h-full max-w-lg" style={{ gridTemplateColumns: `repeat(${items.length}, minmax(0, 1fr))` }}>
        {items.map(({ to, label, icon: Icon }) => (
          <NavLink
            key={to}
            to={to}
            end
            className="flex min-w-0 flex-col items-center justify-center gap-0.5 text-[11px] font-medium leading-tight text-muted no-underline aria-[current=page]:text-link"
          >
            <Icon aria-hidden className="size-5" />
            <span className="max-w-full truncate">{label}</span>
          </NavLink>
        ))}
      </div>
    </nav>
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
      {/* A page's code is loading: the last page stays until it has. */}
      {loading && <div aria-hidden className="fixed inset-x-0 top-0 z-50 h-0.5 animate-pulse bg-accent" />}
      <Header />
      {/* Titles, names and prompts are people's text: a word wider than a phone
          breaks rather than widen the page (grid items may shrink for it: styles.css). */}
      <main
        id="main"
        className={`mx-auto max-w-6xl px-4 pt-4 break-words ${playing ? "pb-44 sm:pb-36 lg:pb-28" : "pb-24 lg:pb-10"}`}
        aria-busy={loading}
      >
        {user === undefined ? <p className="muted">Loading…</p> : <Outlet />}
      </main>
      <PlayerBar />
      <TabBar />
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
