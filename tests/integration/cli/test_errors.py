"""Bad input and failures through `neutone`: a non-zero exit status, nothing on
stdout, and on stderr the gRPC code with the fields the service names (a JSON
document with --json); nothing written."""

from runtime.launcher import free_address
from tests.integration.cli.conftest import Neutone
from tests.integration.helpers import insert_song


def test_invalid_fields_are_named_on_stderr(neutone: Neutone, new_user, database_url) -> None:
    user = new_user()
    neutone.signed_in(user)
    song_id = insert_song(database_url, user.id, ready=True)

    ran = neutone("rename", song_id, "x" * 81)
    assert ran.status == 1 and ran.stdout == ""
    assert ran.stderr.startswith("error: INVALID_ARGUMENT: ")
    assert "  song.title: must be at most 80 characters" in ran.stderr.splitlines()
    failure = neutone("rename", song_id, " ", "--json").failure()
    assert failure == {
        "code": "INVALID_ARGUMENT",
        "message": "invalid song.title: is required",
        "field_violations": [{"field": "song.title", "description": "is required"}],
    }
    assert neutone.json("get", song_id)["song"]["title"] == ""

    ran = neutone("create", "--description", "too short", "--duration", "5", "--seed", "-1")
    assert ran.status == 1
    assert "params.duration_seconds" in ran.stderr and "params.seed" in ran.stderr
    ran = neutone("feed", "--category", "polka")
    assert ran.status == 1 and "  category: " in ran.stderr
    ran = neutone("get", "not-a-song", "--json")
    assert ran.failure()["field_violations"] == [
        {"field": "song_id", "description": "must be a UUID"}
    ]
    # Nothing was charged.
    assert neutone.json("balance") == {"balance": 3}


def test_usage_mistakes_are_refused_before_any_call(neutone: Neutone) -> None:
    ran = neutone("create")
    assert (
        ran.status == 2 and "one of the arguments --description --prompt is required" in ran.stderr
    )
    ran = neutone("create", "--description", "a song", "--lyrics", "la la")
    assert ran.status == 1 and "go with --prompt" in ran.stderr
    ran = neutone("feed", "--order", "oldest")
    assert ran.status == 2 and "invalid choice" in ran.stderr


def test_an_unreachable_service_fails_the_command(make_neutone, new_user) -> None:
    neutone: Neutone = make_neutone(NEUTONE_BILLINGSVC_ADDRESS=free_address())
    neutone.signed_in(new_user())
    failure = neutone("balance", "--json").failure()
    assert failure["code"] == "UNAVAILABLE"
