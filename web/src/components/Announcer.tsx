// Short notices that announce themselves ("“Summer” is ready"), shown in a
// corner for a few seconds and read out by screen readers (a polite live region).
import { createContext, useCallback, useContext, useState } from "react";
import { Link } from "react-router";
import { CheckCircle2, XCircle } from "lucide-react";

export interface Notice {
  text: string;
  // Where the notice leads, e.g. the finished song's page.
  href?: string;
  tone?: "ok" | "error";
}

const AnnounceContext = createContext<(notice: Notice) => void>(() => undefined);

const SHOWN_MS = 6000;

interface Shown extends Notice {
  id: number;
}

const NoticesContext = createContext<Shown[]>([]);

/** Holds the notices; `Notices` shows them, inside the router (they hold links). */
export function AnnouncerProvider({ children }: { children: React.ReactNode }) {
  const [notices, setNotices] = useState<Shown[]>([]);
  const announce = useCallback((notice: Notice) => {
    const id = Date.now() + Math.random();
    setNotices((shown) => [...shown.slice(-2), { ...notice, id }]);
    window.setTimeout(() => setNotices((shown) => shown.filter((item) => item.id !== id)), SHOWN_MS);
  }, []);
  return (
    <AnnounceContext.Provider value={announce}>
      <NoticesContext.Provider value={notices}>{children}</NoticesContext.Provider>
    </AnnounceContext.Provider>
  );
}

/** The notices on screen, in a polite live region. */
export function Notices() {
  const notices = useContext(NoticesContext);
  return (
    <div
      aria-live="polite"
      className="pointer-events-none fixed inset-x-0 top-16 z-50 flex flex-col items-center gap-2 px-4"
    >
      {notices.map((notice) => (
        <p
          key={notice.id}
          className="pointer-events-auto m-0 flex items-center gap-2 rounded-full border border-line bg-raised px-4 py-2 shadow-lg"
        >
          {notice.tone === "error" ? (
            <XCircle aria-hidden className="size-5 text-danger" />
          ) : (
            <CheckCircle2 aria-hidden className="size-5 text-ok" />
          )}
          {notice.href ? <Link to={notice.href}>{notice.text}</Link> : notice.text}
        </p>
      ))}
    </div>
  );
}

/** Shows a notice to everyone, screen-reader users included. */
export function useAnnounce(): (notice: Notice) => void {
  return useContext(AnnounceContext);
}
