"""Credits: the balance, the ledger, the products and links to buy them."""

import argparse

from cli.client import Auth, Client
from cli.output import Output, label, lines, next_page, when
from cli.parsing import Commands, add_paging
from neutone.v1 import billing_pb2
from neutone.v1 import billing_service_pb2 as pb


def register(commands: Commands) -> None:
    commands.add("balance", balance, help="your credits")
    add_paging(commands.add("transactions", transactions, help="your ledger, newest first"))
    commands.add("products", products, help="the credit packs for sale")
    command = commands.add("checkout", checkout, help="a link to buy a product")
    command.add_argument("product_id")
    command.add_argument("--success-url", default="", help="where the payment page returns to")
    command = commands.add("portal", portal, help="a link to your orders and receipts")
    command.add_argument("--return-url", default="", help="where the portal links back to")


def balance(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.billing.GetBalance, pb.GetBalanceRequest())
    out.reply(reply, f"{reply.balance} credits")


def transactions(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.ListTransactionsRequest(page_size=args.page_size, page_token=args.page_token)
    reply = client.call(client.billing.ListTransactions, request)
    out.reply(
        reply, lines(*map(transaction_line, reply.transactions), next_page(reply.next_page_token))
    )


def transaction_line(entry: billing_pb2.Transaction) -> str:
    return (
        f"{when(entry.create_time)}  {label(billing_pb2.TransactionKind, entry.kind):<16}"
        f" {entry.amount:+4d}  balance {entry.balance_after:<4}  {entry.description}"
    )


def products(client: Client, out: Output, args: argparse.Namespace) -> None:
    reply = client.call(client.billing.ListProducts, pb.ListProductsRequest(), auth=Auth.NONE)
    out.reply(
        reply,
        lines(
            *(
                # Minor units as the contract has them: how many decimals a
                # currency has is not the CLI's to guess.
                f"{p.id:<16} {p.display_name:<20} {p.credits:>5} credits"
                f"  {p.price_minor_units} {p.currency.upper()} minor units"
                for p in reply.products
            )
        ),
    )


def checkout(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.CreateCheckoutSessionRequest(
        product_id=args.product_id, success_url=args.success_url
    )
    reply = client.call(client.billing.CreateCheckoutSession, request)
    out.reply(reply, reply.checkout_url)


def portal(client: Client, out: Output, args: argparse.Namespace) -> None:
    request = pb.CreatePortalSessionRequest(return_url=args.return_url)
    reply = client.call(client.billing.CreatePortalSession, request)
    out.reply(reply, reply.portal_url)
