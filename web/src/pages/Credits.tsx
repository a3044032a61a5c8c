// Credits: the balance, buying a pack through the provider's checkout, the
// billing portal, and the ledger.
import { useEffect, useState } from "react";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { billing, problemOf } from "../api";
import { ErrorBanner } from "../components/Field";
import type { Product, Transaction } from "../gen/neutone/v1/billing_pb";
import { useLocation } from "../router";
import { useSession } from "../session";

function price(product: Product): string {
  return new Intl.NumberFormat(undefined, {
    style: "currency",
    currency: product.currency.toUpperCase(),
  }).format(Number(product.priceMinorUnits) / 100);
}

export function CreditsPage() {
  const { balance, refreshBalance } = useSession();
  const location = useLocation();
  const [products, setProducts] = useState<Product[]>([]);
  const [entries, setEntries] = useState<Transaction[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const paid = location.searchParams.get("checkout") === "success";

  useEffect(() => {
    refreshBalance().catch((err) => setError(problemOf(err).message));
    billing
      .listProducts({})
      .then((reply) => setProducts(reply.products))
      .catch((err) => setError(problemOf(err).message));
    billing
      .listTransactions({ pageSize: 20 })
      .then((reply) => setEntries(reply.transactions))
      .catch((err) => setError(problemOf(err).message));
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
      <ErrorBanner message={error} />
      <p className="balance">
        Balance: <strong data-testid="balance">{balance ?? "…"}</strong> credits. A song costs 1
        credit.
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
                  const reply = await billing.createCheckoutSession({
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
            go(async () => (await billing.createPortalSession({ returnUrl: `${origin}/credits` })).portalUrl)
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
    </section>
  );
}
