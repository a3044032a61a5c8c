"""Credits through `neutone`: the balance, the ledger page by page, the products
and the links to buy them and to the billing portal."""

from tests.integration.cli.conftest import Neutone


def test_balance_ledger_products_and_links(neutone: Neutone, new_user) -> None:
    neutone.signed_in(new_user())
    assert neutone.json("balance") == {"balance": 3}
    assert neutone.ok("balance") == "3 credits\n"
    neutone.ok("create", "--description", "a song to pay for")
    assert neutone.json("balance") == {"balance": 2}

    first = neutone.json("transactions", "--page-size", "1")
    rest = neutone.json(
        "transactions", "--page-size", "1", f"--page-token={first['next_page_token']}"
    )
    entries = first["transactions"] + rest["transactions"]
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in entries] == [
        ("TRANSACTION_KIND_SONG_CHARGE", -1, 2),
        ("TRANSACTION_KIND_WELCOME_GRANT", 3, 3),
    ]
    assert not rest["next_page_token"]
    assert "welcome_grant      +3  balance 3" in neutone.ok("transactions")

    products = neutone.json("products")["products"]
    assert {p["id"]: p["credits"] for p in products} == {
        "credits-10": 10,
        "credits-25": 25,
        "credits-50": 50,
    }
    assert "credits-10       10 credits" in neutone.ok("products")

    checkout = neutone.json("checkout", "credits-10", "--success-url", "https://example.com/ok")
    assert checkout["checkout_url"].startswith("http://")
    assert neutone.ok("checkout", "credits-25").startswith("http://")
    assert neutone.json("portal")["portal_url"].startswith("http://")

    failure = neutone("checkout", "credits-11", "--json").failure()
    assert failure["code"] == "INVALID_ARGUMENT"
    assert [v["field"] for v in failure["field_violations"]] == ["product_id"]
    failure = neutone("portal", "--return-url", "ftp://example.com", "--json").failure()
    assert [v["field"] for v in failure["field_violations"]] == ["return_url"]
