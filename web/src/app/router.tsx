// The routes. Each page is its own chunk, loaded when a link to it is first
// pointed at or focused, but for Discover, the page most people land on, which
// comes with the app. The gateway answers every app path with index.html, so any
// URL can be reloaded and shared.
import { createBrowserRouter, matchRoutes, RouterProvider, type RouteObject } from "react-router";
import { FeedPage } from "@/features/discover";
import { Layout, NotFound, RequireUser } from "./Layout";

const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      { index: true, Component: FeedPage },
      { path: "sign-in", lazy: () => import("@/features/auth/components/AuthPage").then((m) => ({ Component: m.SignInPage })) },
      { path: "sign-up", lazy: () => import("@/features/auth/components/AuthPage").then((m) => ({ Component: m.SignUpPage })) },
      { path: "confirm-sign-up", lazy: () => import("@/features/auth/components/ConfirmSignUpPage").then((m) => ({ Component: m.ConfirmSignUpPage })) },
      { path: "forgot-password", lazy: () => import("@/features/auth/components/PasswordReset").then((m) => ({ Component: m.ForgotPasswordPage })) },
      { path: "reset-password", lazy: () => import("@/features/auth/components/PasswordReset").then((m) => ({ Component: m.ResetPasswordPage })) },
      { path: "songs/:songId", lazy: () => import("@/features/songs/components/SongPage").then((m) => ({ Component: m.SongPage })) },
      { path: "artists/:artistId", lazy: () => import("@/features/artists/components/ArtistPage").then((m) => ({ Component: m.ArtistPage })) },
      {
        element: <RequireUser />,
        children: [
          { path: "create", lazy: () => import("@/features/create/components/CreatePage").then((m) => ({ Component: m.CreatePage })) },
          { path: "songs", lazy: () => import("@/features/songs/components/MySongs").then((m) => ({ Component: m.MySongsPage })) },
          { path: "liked", lazy: () => import("@/features/songs/components/LikedSongs").then((m) => ({ Component: m.LikedSongsPage })) },
          { path: "credits", lazy: () => import("@/features/credits/components/CreditsPage").then((m) => ({ Component: m.CreditsPage })) },
          { path: "settings", lazy: () => import("@/features/settings/components/SettingsPage").then((m) => ({ Component: m.SettingsPage })) },
        ],
      },
      { path: "*", element: <NotFound /> },
    ],
  },
];

const router = createBrowserRouter(routes);

/** Starts loading the code of the page a link leads to as the pointer reaches
 * it (or a finger touches it, or the keyboard focuses it), so that the click
 * finds the page ready instead of leaving the last one on screen meanwhile. */
function preloadLinkedPage(event: Event) {
  const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!(link instanceof HTMLAnchorElement) || link.origin !== window.location.origin) return;
  for (const { route } of matchRoutes(routes, link.pathname) ?? []) {
    // The import is the route's own, so the router finds the module loaded; if
    // it fails, the click tries again and shows why.
    if (typeof route.lazy === "function") route.lazy().catch(() => undefined);
  }
}
for (const type of ["pointerover", "focusin"]) {
  document.addEventListener(type, preloadLinkedPage, { passive: true });
}

export function AppRouter() {
  return <RouterProvider router={router} />;
}
