// What every page stands on: the query cache with the Connect transport, the
// announcer, and the one player (above the router, so music outlives a page).
import { MutationCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TransportProvider } from "@connectrpc/connect-query";
import { transport } from "@/lib/api";
import { methodOf } from "@/lib/queryKeys";
import { SongService } from "@/gen/neutone/v1/song_service_pb";
import { UserService } from "@/gen/neutone/v1/user_service_pb";
import { AnnouncerProvider } from "@/components/Announcer";
import { PlayerProvider } from "@/features/player";

// Answers a change never makes stale: who is signed in (set by the calls that
// change it) and signed media URLs (they live until they expire).
const UNCHANGED_BY_WRITES = new Set([
  UserService.method.getCurrentUser.name,
  SongService.method.getSongMedia.name,
]);

const queryClient: QueryClient = new QueryClient({
  // Any change (a new song, a rename, a like, a deletion) makes the lists and
  // songs on show stale: those on screen are asked again, the rest when shown.
  mutationCache: new MutationCache({
    onSuccess: () =>
      queryClient.invalidateQueries({
        predicate: (query) => !UNCHANGED_BY_WRITES.has(methodOf(query.queryKey) ?? ""),
      }),
  }),
  defaultOptions: {
    queries: {
      // Lists and songs change slowly; pages opened again show the cache at once
      // and refresh behind it.
      staleTime: 30_000,
      refetchOnWindowFocus: false,
      retry: 1,
    },
  },
});

export function AppProviders({ children }: { children: React.ReactNode }) {
  return (
    <TransportProvider transport={transport}>
      <QueryClientProvider client={queryClient}>
        <AnnouncerProvider>
          <PlayerProvider>{children}</PlayerProvider>
        </AnnouncerProvider>
      </QueryClientProvider>
    </TransportProvider>
  );
}
