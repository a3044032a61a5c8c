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
  refreshBalance(): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [balance, setBalance] = useState<number | undefined>(undefined);

  useEffect(() => {
    users
      .getCurrentUser({})
      .then((reply) => setUser(reply.user ?? null))
      .catch((error) => {
        if (!(error instanceof ConnectError && error.code === Code.Unauthenticated)) {
          console.error(error);
        }
        setUser(null);
      });
  }, []);

  const refreshBalance = useCallback(async () => {
    if (!user) return;
    const reply = await billing.getBalance({});
    setBalance(reply.balance);
  }, [user]);

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
    <SessionContext.Provider value={{ user, balance, setUser, refreshBalance, signOut }}>
      {children}
    </SessionContext.Provider>
  );
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (session === null) throw new Error("useSession outside SessionProvider");
  return session;
}
