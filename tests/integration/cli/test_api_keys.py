"""API keys from `neutone keys`: the secret shown once, the key used by a script
through NEUTONE_API_KEY alone, and revoked: the script then fails cleanly."""

from tests.integration.cli.conftest import Neutone


def test_an_api_key_is_created_used_by_a_script_and_revoked(make_neutone, new_user) -> None:
    user = new_user()
    owner: Neutone = make_neutone().signed_in(user)
    created = owner.json("keys", "create", "nightly job", "--expire-days", "30")
    secret, key = created["secret"], created["api_key"]
    assert secret.startswith("ntk_") and key["display_name"] == "nightly job"
    assert key["secret_prefix"] == secret[:10] and key["expire_time"]
    listed = owner.json("keys", "list")
    assert [k["id"] for k in listed["api_keys"]] == [key["id"]]
    assert secret not in str(listed)
    assert f"{key['id']}  {key['secret_prefix']}...  nightly job  (expires " in owner.ok(
        "keys", "list"
    )

    # A script's machine: no session, only the key.
    script = make_neutone()
    with_key = {"NEUTONE_API_KEY": secret}
    assert script.json("whoami", env=with_key)["user"]["id"] == user.id
    assert "through an API key" in script.ok("whoami", env=with_key)
    assert script.json("balance", env=with_key) == {"balance": 3}
    song = script.json("create", "--description", "a test song", env=with_key)["song"]
    assert script.json("delete", song["id"], env=with_key) == {}
    # A key uses the account; it cannot make more keys.
    failure = script("keys", "create", "more", "--json", env=with_key).failure()
    assert failure["code"] == "PERMISSION_DENIED"
    assert not script.session_file.exists()

    revoked = owner.json("keys", "revoke", key["id"])
    assert revoked["api_key"]["revoke_time"]
    ran = script("balance", env=with_key)
    assert ran.status == 1 and ran.stdout == ""
    assert ran.stderr.startswith("error: UNAUTHENTICATED: ") and "NO_CREDENTIAL" in ran.stderr
    failure = script("balance", "--json", env=with_key).failure()
    assert failure["code"] == "UNAUTHENTICATED" and failure["reason"] == "NO_CREDENTIAL"
    assert "revoked" in owner.ok("keys", "list")


def test_bad_key_requests_name_the_field(neutone: Neutone, new_user) -> None:
    neutone.signed_in(new_user())
    ran = neutone("keys", "create", " ")
    assert ran.status == 1 and "display_name: is required" in ran.stderr
    failure = neutone("keys", "create", "k", "--expire-days", "400", "--json").failure()
    assert failure["code"] == "INVALID_ARGUMENT"
    assert [v["field"] for v in failure["field_violations"]] == ["expire_time"]
    assert neutone.json("keys", "list") == {"api_keys": [], "next_page_token": ""}
    failure = neutone("keys", "revoke", "not-a-uuid", "--json").failure()
    assert failure["field_violations"] == [{"field": "api_key_id", "description": "must be a UUID"}]
