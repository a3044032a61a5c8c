// Who is signed in, and their credit balance, kept in the query cache. The
// session itself lives in an HttpOnly cookie the page never sees;
// GetCurrentUser tells whether there is one.
import { useCallback, useMemo } from "react";
import { Code, ConnectError } from "@connectrpc/connect";
import { callUnaryMethod, createConnectQueryKey, useQuery, useTransport } from "@connectrpc/connect-query";
import {
  skipToken,
  useQuery as useTanStackQuery,
  useQueryClient,
  type QueryKey,
} from "@tanstack/react-query";
import { methodOf } from "@/lib/queryKeys";
import { BillingService } from "@/gen/neutone/v1/billing_service_pb";
import { create } from "@bufbuild/protobuf";
import { GetCurrentUserResponseSchema, UserService } from "@/gen/neutone/v1/user_service_pb";
import type { User } from "@/gen/neutone/v1/user_pb";

export interface Session {
  user: User | null | undefined; // undefined while loading
  balance: number | undefined;
  setUser(user: User | null): void;
  /** Asks the gateway again who the cookie belongs to, e.g. after a call that set it. */
  refresh(): Promise<void>;
  refreshBalance(): Promise<void>;
  signOut(): Promise<void>;
}

function signedOut(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.Unauthenticated;
}

export function useSession(): Session {
  const client = useQueryClient();
  const transport = useTransport();
  const currentUserKey = useMemo(
    () =>
      createConnectQueryKey({
        schema: UserService.method.getCurrentUser,
        input: {},
        transport,
        cardinality: "finite",
      }),
    [transport],
  );
  const current = useTanStackQuery({
    queryKey: currentUserKey,
    // Not signed in is an answer (no user), not a failure to retry.
    queryFn: async () => {
      try {
        return await callUnaryMethod(transport, UserService.method.getCurrentUser, {});
      } catch (error) {
        if (signedOut(error)) return create(GetCurrentUserResponseSchema, {});
        throw error;
      }
    },
    staleTime: 60_000,
    // Any other failure leaves the page signed out, without asking again on
    // every page that mounts.
    retryOnMount: false,
  });
  const user = current.isPending ? undefined : (current.data?.user ?? null);
  const balance = useQuery(BillingService.method.getBalance, user ? {} : skipToken);

  const setUser = useCallback(
    (next: User | null) => {
      // Everything else cached was seen by the previous account (likes, own songs).
      client.removeQueries({ predicate: (query) => !isCurrentUser(query.queryKey) });
      client.setQueryData(
        currentUserKey,
        create(GetCurrentUserResponseSchema, { user: next ?? undefined }),
      );
    },
    [client, currentUserKey],
  );
  const refresh = useCallback(async () => {
    await client.refetchQueries({ queryKey: currentUserKey });
  }, [client, currentUserKey]);
  const refetchBalance = balance.refetch;
  const refreshBalance = useCallback(async () => {
    await refetchBalance();
  }, [refetchBalance]);
  const signOut = useCallback(async () => {
    try {
      await callUnaryMethod(transport, UserService.method.signOut, {});
    } finally {
      setUser(null);
    }
  }, [setUser, transport]);

  return {
    user,
    balance: user ? balance.data?.balance : undefined,
    setUser,
    refresh,
    refreshBalance,
    signOut,
  };
}

function isCurrentUser(key: QueryKey): boolean {
  return methodOf(key) === UserService.method.getCurrentUser.name;
}
