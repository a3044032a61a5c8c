// Renders a component as the app does (query cache, transport, announcer,
// player, router), with the server replaced by `routes`: fake service
// implementations behind a real Connect transport.
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { TransportProvider } from "@connectrpc/connect-query";
import { createRouterTransport, type ConnectRouter } from "@connectrpc/connect";
import { MemoryRouter } from "react-router";
import { AnnouncerProvider } from "@/components/Announcer";
import { PlayerProvider } from "@/features/player";

export function renderWithServer(ui: React.ReactNode, routes: (router: ConnectRouter) => void) {
  const transport = createRouterTransport(routes);
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  // A wrapper, so that `rerender` keeps the providers.
  function Providers({ children }: { children: React.ReactNode }) {
    return (
      <TransportProvider transport={transport}>
        <QueryClientProvider client={client}>
          <AnnouncerProvider>
            <MemoryRouter>
              <PlayerProvider>{children}</PlayerProvider>
            </MemoryRouter>
          </AnnouncerProvider>
        </QueryClientProvider>
      </TransportProvider>
    );
  }
  return render(ui, { wrapper: Providers });
}
