// Who is signed in. The session itself lives in an HttpOnly cookie the page
// never sees; GetCurrentUser tells whether there is one.
import { createContext, useCallback, useContext, useEffect, useState } from "react";
import { Code, ConnectError } from "@connectrpc/connect";
import { billing, users } from "./api";
import type { User } from "./gen/neutone/v1/user_pb";

interface Session {
  user: User | null | undefined; // undefined while loading
  balance: number | undefined;
  setUser(user: User | null): void;
  /** Asks the gateway again who the cookie belongs to, e.g. after a call that set it. */
  refresh(): Promise<void>;
  refreshBalance(): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [balance, setBalance] = useState<number | undefined>(undefined);

  // Never rejects: any failure leaves the page signed out. While it runs the
  // user stays as it was (not undefined), so the page asking does not unmount.
  const refresh = useCallback(async () => {
    try {
      const reply = await users.getCurrentUser({});
      setUser(reply.user ?? null);
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.Unauthenticated)) {
        console.error(error);
      }
      setUser(null);
    }
  }, []);

  useEffect(() => {
    refresh();
  }, [refresh]);

  // Keyed by the account, not the User object: renaming oneself replaces the
  // object but keeps the balance.
  const userId = user?.id;
  const refreshBalance = useCallback(async () => {
    if (!userId) return;
    const reply = await billing.getBalance({});
    setBalance(reply.balance);
  }, [userId]);

  useEffect(() => {
    setBalance(undefined);
    refreshBalance().catch(console.error);
  }, [refreshBalance]);

  const signOut = useCallback(async () => {
    try {
      await users.signOut({});
    } finally {
      setUser(null);
    }
  }, []);

  return (
    <SessionContext.Provider value={{ user, balance, setUser, refresh, refreshBalance, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error("useSession outside SessionProvider");
  return session;
}
