// Credits: the balance, buying a pack through the provider's checkout, the
// billing portal, and the ledger.
import { useEffect, useState } from "react";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { problemOf } from "@/lib/api";
import { ErrorBanner } from "@/components/Field";
import { LoadMore } from "@/components/LoadMore";
import type { Product } from "@/gen/neutone/v1/billing_pb";
import { useCheckout, usePortal, useProducts, useTransactions } from "../api/queries";
import { useSearchParams } from "react-router";
import { useSession } from "@/features/auth";

function price(product: Product): string {
  return new Intl.NumberFormat(undefined, {
    style: "currency",
    currency: product.currency.toUpperCase(),
  }).format(Number(product.priceMinorUnits) / 100);
}

export function CreditsPage() {
  const { balance, refreshBalance } = useSession();
  const products = useProducts().data?.products ?? [];
  const history = useTransactions();
  const entries = history.data?.pages.flatMap((page) => page.transactions) ?? [];
  const checkout = useCheckout();
  const portal = usePortal();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const paid = useSearchParams()[0].get("checkout") === "success";

  useEffect(() => {
    // Back from the checkout: the webhook has changed the balance.
    refreshBalance().catch((err) => setError(problemOf(err).message));
  }, [refreshBalance]);

  async function go(open: () => Promise<string>) {
    setBusy(true);
    setError(undefined);
    try {
      window.location.assign(await open());
    } catch (err) {
      setError(problemOf(err).message);
      setBusy(false);
    }
  }

  const origin = window.location.origin;
  return (
    <section className="narrow">
      <h1>Credits</h1>
      {paid && (
        <p className="banner ok" role="status">
          Payment received: your credits have been added.
        </p>
      )}
      <ErrorBanner message={error ?? (history.error ? problemOf(history.error).message : undefined)} />
      <p className="balance my-4 flex items-baseline gap-2">
        <span className="text-sm text-muted">Balance</span>
        <strong data-testid="balance" className="text-4xl font-extrabold">
          {balance ?? "…"}
        </strong>
        <span>credits. A song costs 1 credit.</span>
      </p>
      <h2>Buy credits</h2>
      <ul className="products">
        {products.map((product) => (
          <li key={product.id}>
            <button
              type="button"
              disabled={busy}
              onClick={() =>
                go(async () => {
                  const reply = await checkout.mutateAsync({
                    productId: product.id,
                    successUrl: `${origin}/credits?checkout=success`,
                  });
                  return reply.checkoutUrl;
                })
              }
            >
              Buy {product.displayName} for {price(product)}
            </button>
          </li>
        ))}
      </ul>
      <p>
        <button
          type="button"
          className="secondary"
          disabled={busy}
          onClick={() =>
            go(async () => (await portal.mutateAsync({ returnUrl: `${origin}/credits` })).portalUrl)
          }
        >
          Billing portal (orders and receipts)
        </button>
      </p>
      <h2>History</h2>
      {entries.length === 0 ? (
        <p className="muted">No transactions yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Credits</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.id}>
                <td>{entry.createTime ? timestampDate(entry.createTime).toLocaleString() : ""}</td>
                <td>{entry.description}</td>
                <td>{entry.amount > 0 ? `+${entry.amount}` : entry.amount}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore query={history} label="Older transactions" className="mt-4" />
    </section>
  );
}
