// Short notices that announce themselves ("“Summer” is ready"), shown at the top
// for a few seconds and read out by screen readers (a polite live region). One
// stays while focus is in it (a keyboard's time to follow its link), and can be
// dismissed at once: on a phone it covers the top of the page. (Not held under the
// pointer: one that appeared under a resting mouse would stay over the page.)
import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { Link } from "react-router";
import { CheckCircle2, X, XCircle } from "lucide-react";

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

interface NoticesState {
  notices: Shown[];
  dismiss(id: number): void;
}

const NoticesContext = createContext<NoticesState>({ notices: [], dismiss: () => undefined });

/** Holds the notices; `Notices` shows them, inside the router (they hold links). */
export function AnnouncerProvider({ children }: { children: React.ReactNode }) {
  const [notices, setNotices] = useState<Shown[]>([]);
  const announce = useCallback((notice: Notice) => {
    const id = Date.now() + Math.random();
    setNotices((shown) => [...shown.slice(-2), { ...notice, id }]);
  }, []);
  const dismiss = useCallback((id: number) => {
    setNotices((shown) => shown.filter((item) => item.id !== id));
  }, []);
  return (
    <AnnounceContext.Provider value={announce}>
      <NoticesContext.Provider value={{ notices, dismiss }}>{children}</NoticesContext.Provider>
    </AnnounceContext.Provider>
  );
}

/** The notices on screen, in a polite live region. */
export function Notices() {
  const { notices, dismiss } = useContext(NoticesContext);
  return (
    <div
      aria-live="polite"
      className="pointer-events-none fixed inset-x-0 top-16 z-50 flex flex-col items-center gap-2 px-4"
    >
      {notices.map((notice) => (
        <ShownNotice key={notice.id} notice={notice} dismiss={dismiss} />
      ))}
    </div>
  );
}

function ShownNotice({ notice, dismiss }: { notice: Shown; dismiss: (id: number) => void }) {
  const [held, setHeld] = useState(false);
  const { id } = notice;
  useEffect(() => {
    if (held) return;
    const timer = window.setTimeout(() => dismiss(id), SHOWN_MS);
    return () => window.clearTimeout(timer);
  }, [held, id, dismiss]);
  return (
    <p
      className="pointer-events-auto m-0 flex items-center gap-2 rounded-full border border-line bg-raised py-1 pl-4 pr-1 shadow-lg"
      onFocus={() => setHeld(true)}
      onBlur={() => setHeld(false)}
    >
      {notice.tone === "error" ? (
        <XCircle aria-hidden className="size-5 flex-none text-danger" />
      ) : (
        <CheckCircle2 aria-hidden className="size-5 flex-none text-ok" />
      )}
      {notice.href ? <Link to={notice.href}>{notice.text}</Link> : notice.text}
      <button type="button" className="icon ghost flex-none" aria-label="Dismiss" title="Dismiss" onClick={() => dismiss(id)}>
        <X aria-hidden className="size-4" />
      </button>
    </p>
  );
}

/** Shows a notice to everyone, screen-reader users included. */
export function useAnnounce(): (notice: Notice) => void {
  return useContext(AnnounceContext);
}
