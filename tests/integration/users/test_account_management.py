"""Managing one's account on the real services: display name (shown on songs),
password change, signing out everywhere, and deleting the account with
everything of the person's, in every table and in the object store."""

import uuid
from collections.abc import Callable

import grpc
import psycopg
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from neutone.v1 import (
    billing_service_pb2,
    billing_service_pb2_grpc,
    song_service_pb2,
    song_service_pb2_grpc,
    user_pb2,
    user_service_pb2_grpc,
)
from neutone.v1 import user_service_pb2 as pb
from tests.integration.conftest import BUCKET
from tests.integration.helpers import (
    bearer,
    error_reason,
    eventually,
    field_violations,
    insert_song,
)

# Services poll revocations each second (NEUTONE_REVOCATION_POLL_SECONDS).
WITHIN_SECONDS = 10


@pytest.fixture
def users(users_channel: grpc.Channel) -> user_service_pb2_grpc.UserServiceStub:
    return user_service_pb2_grpc.UserServiceStub(users_channel)


@pytest.fixture
def songs(songs_channel: grpc.Channel) -> song_service_pb2_grpc.SongServiceStub:
    return song_service_pb2_grpc.SongServiceStub(songs_channel)


@pytest.fixture
def billing(billing_channel: grpc.Channel) -> billing_service_pb2_grpc.BillingServiceStub:
    return billing_service_pb2_grpc.BillingServiceStub(billing_channel)


def refused(call: Callable[[], object]) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value


def token_works(users, metadata) -> bool:
    try:
        users.GetCurrentUser(pb.GetCurrentUserRequest(), metadata=metadata)
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.UNAUTHENTICATED
        return False
    return True


def session_metadata(users, email: str, password: str):
    session = users.SignIn(pb.SignInRequest(email=email, password=password)).session_token
    reply = users.CreateIdentityToken(pb.CreateIdentityTokenRequest(session_token=session))
    return bearer(reply.identity_token)


def test_a_new_display_name_shows_on_the_persons_songs(users, songs, new_user, database_url):
    person = new_user()
    song_id = insert_song(database_url, person.id, ready=True)
    bad = refused(
        lambda: users.UpdateCurrentUser(
            pb.UpdateCurrentUserRequest(
                user=user_pb2.User(display_name="x" * 51, email="new@example.com"),
                update_mask=FieldMask(paths=["display_name", "email"]),
            ),
            metadata=person.metadata,
        )
    )
    assert set(field_violations(bad)) == {"update_mask", "user.display_name"}

    reply = users.UpdateCurrentUser(
        pb.UpdateCurrentUserRequest(
            user=user_pb2.User(display_name="  DJ Ada "),
            update_mask=FieldMask(paths=["display_name"]),
        ),
        metadata=person.metadata,
    )
    assert reply.user.display_name == "DJ Ada"

    def renamed() -> bool:
        song = songs.GetSong(
            song_service_pb2.GetSongRequest(song_id=song_id), metadata=person.metadata
        )
        return song.song.owner_display_name == "DJ Ada"

    eventually(renamed, timeout=WITHIN_SECONDS, what="the song shows the new name")


def test_a_password_change_ends_the_other_sessions_only(users, new_user) -> None:
    person = new_user()
    elsewhere = session_metadata(users, person.email, person.password)
    wrong = refused(
        lambda: users.ChangePassword(
            pb.ChangePasswordRequest(current_password="not it", new_password="a new password"),
            metadata=person.metadata,
        )
    )
    assert wrong.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_reason(wrong) == "BAD_CREDENTIALS"
    short = refused(
        lambda: users.ChangePassword(
            pb.ChangePasswordRequest(current_password=person.password, new_password="short"),
            metadata=person.metadata,
        )
    )
    assert "new_password" in field_violations(short)

    users.ChangePassword(
        pb.ChangePasswordRequest(current_password=person.password, new_password="a new password"),
        metadata=person.metadata,
    )
    eventually(
        lambda: not token_works(users, elsewhere),
        timeout=WITHIN_SECONDS,
        what="the other session ends",
    )
    assert token_works(users, person.metadata)
    assert (
        refused(
            lambda: users.SignIn(pb.SignInRequest(email=person.email, password=person.password))
        ).code()
        == grpc.StatusCode.UNAUTHENTICATED
    )
    users.SignIn(pb.SignInRequest(email=person.email, password="a new password"))


def test_signing_out_everywhere_ends_every_session_but_not_api_keys(users, new_user) -> None:
    person = new_user()
    elsewhere = session_metadata(users, person.email, person.password)
    key = users.CreateApiKey(
        pb.CreateApiKeyRequest(display_name="script"), metadata=person.metadata
    )
    by_key = bearer(
        users.CreateIdentityToken(pb.CreateIdentityTokenRequest(api_key=key.secret)).identity_token
    )
    # Only a session may sign its account out everywhere.
    assert (
        refused(
            lambda: users.SignOutEverywhere(pb.SignOutEverywhereRequest(), metadata=by_key)
        ).code()
        == grpc.StatusCode.PERMISSION_DENIED
    )

    users.SignOutEverywhere(pb.SignOutEverywhereRequest(), metadata=person.metadata)
    eventually(
        lambda: not token_works(users, person.metadata) and not token_works(users, elsewhere),
        timeout=WITHIN_SECONDS,
        what="every session ends",
    )
    assert token_works(users, by_key)


def rows_about(database_url: str, schemas: tuple[str, ...], values: tuple[str, ...]) -> list[str]:
    """`schema.table.column` for every row of these schemas holding one of `values`
    in a uuid or text column: what is left about a person."""
    found = []
    with psycopg.connect(database_url) as db:
        columns = db.execute(
            "SELECT table_schema, table_name, column_name, data_type"
            " FROM information_schema.columns"
            " WHERE table_schema = ANY(%s) AND data_type IN ('uuid', 'text', 'ARRAY', 'jsonb')",
            (list(schemas),),
        ).fetchall()
        for schema, table, column, data_type in columns:
            as_text = f'"{column}"::text'
            for value in values:
                hit = db.execute(
                    f'SELECT 1 FROM "{schema}"."{table}" WHERE {as_text} LIKE %s LIMIT 1',
                    (f"%{value}%",),
                ).fetchone()
                if hit:
                    found.append(f"{schema}.{table}.{column} ({data_type})")
    return found


def test_deleting_an_account_leaves_nothing_of_the_person(
    users, songs, billing, new_user, database_url, s3_client
) -> None:
    person, fan_of = new_user(), new_user()
    # The person's songs and their files, an upload, a like of another's song, a key.
    own = [insert_song(database_url, person.id, ready=True) for _ in range(2)]
    insert_song(database_url, person.id)  # still queued
    for song_id in own:
        for name in ("audio.flac", "cover.png", "audio.mp3"):
            s3_client.put_object(Bucket=BUCKET, Key=f"songs/{song_id}/{name}", Body=b"data")
    upload = songs.CreateUpload(
        song_service_pb2.CreateUploadRequest(
            filename="take.wav", size_bytes=100, content_type="audio/wav"
        ),
        metadata=person.metadata,
    ).upload
    s3_client.put_object(Bucket=BUCKET, Key=f"uploads/{upload.id}/original", Body=b"RIFF")
    liked = insert_song(database_url, fan_of.id, ready=True)
    publish(database_url, liked)
    songs.LikeSong(song_service_pb2.LikeSongRequest(song_id=liked), metadata=person.metadata)
    users.CreateApiKey(pb.CreateApiKeyRequest(display_name="script"), metadata=person.metadata)
    # The ledger opens with the person's first call to billing.
    billing.GetBalance(billing_service_pb2.GetBalanceRequest(), metadata=person.metadata)
    with psycopg.connect(database_url, autocommit=True) as db:
        # A payment event about the person, as the provider sends it.
        db.execute(
            "INSERT INTO billing.payment_events (event_id, type, payload) VALUES (%s, %s, %s)",
            (
                f"evt-{uuid.uuid4().hex}",
                "order.paid",
                psycopg.types.json.Jsonb(
                    {
                        "type": "order.paid",
                        "data": {
                            "id": f"order-{uuid.uuid4().hex}",
                            "billing_name": "Ada Lovelace",
                            "customer": {
                                "external_id": person.id,
                                "email": person.email,
                                "name": "Ada Lovelace",
                            },
                        },
                    }
                ),
            ),
        )

    wrong = refused(
        lambda: users.DeleteAccount(
            pb.DeleteAccountRequest(password="not it"), metadata=person.metadata
        )
    )
    assert error_reason(wrong) == "BAD_CREDENTIALS"
    users.DeleteAccount(pb.DeleteAccountRequest(password=person.password), metadata=person.metadata)

    assert (
        refused(
            lambda: users.SignIn(pb.SignInRequest(email=person.email, password=person.password))
        ).code()
        == grpc.StatusCode.UNAUTHENTICATED
    )
    eventually(
        lambda: not token_works(users, person.metadata),
        timeout=WITHIN_SECONDS,
        what="the person's tokens stop",
    )

    def nothing_left() -> bool:
        print(
            "LEFT",
            rows_about(database_url, ("users", "songs"), (person.id, person.email)),
            s3_client.list_objects_v2(Bucket=BUCKET, Prefix=f"songs/{own[0]}/").get("KeyCount"),
        )
        listed = s3_client.list_objects_v2(Bucket=BUCKET, Prefix=f"songs/{own[0]}/")
        return (
            not rows_about(database_url, ("users", "songs"), (person.id, person.email))
            and listed.get("KeyCount", 0) == 0
        )

    eventually(nothing_left, timeout=WITHIN_SECONDS, what="no row or file about the person")
    for prefix in [*(f"songs/{song_id}/" for song_id in own), f"uploads/{upload.id}/"]:
        assert s3_client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("KeyCount", 0) == 0
    seen = songs.GetSong(song_service_pb2.GetSongRequest(song_id=liked), metadata=fan_of.metadata)
    assert seen.song.like_count == 0
    # The ledger stays, detached: the person's entries (the queued song's charge
    # given back), no personal data in the payment events.
    eventually(
        lambda: not rows_about(database_url, ("billing",), (person.email,)),
        timeout=WITHIN_SECONDS,
        what="billing",
    )
    with psycopg.connect(database_url) as db:
        detached, entries = db.execute(
            "SELECT a.detach_time IS NOT NULL, count(e.id) FROM billing.accounts a"
            " JOIN billing.entries e USING (account_id) WHERE a.account_id = %s GROUP BY 1",
            (person.id,),
        ).fetchone()
        event = db.execute(
            "SELECT payload FROM billing.payment_events"
            " WHERE payload->'data'->'customer'->>'external_id' = %s",
            (person.id,),
        ).fetchone()[0]
    assert detached and entries >= 1
    assert event["data"]["customer"] == {"external_id": person.id}
    assert "billing_name" not in event["data"]


def publish(database_url: str, song_id: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(
            "UPDATE songs.songs SET published = true, publish_time = now() WHERE id = %s",
            (song_id,),
        )


def test_only_usersvc_may_delete_or_rename_an_owner(songs, billing, tokens) -> None:
    as_another_service = bearer(tokens.service_token("gateway"))
    for call in (
        lambda metadata: songs.DeleteOwnerData(
            song_service_pb2.DeleteOwnerDataRequest(user_id=str(uuid.uuid4())), metadata=metadata
        ),
        lambda metadata: songs.RenameOwner(
            song_service_pb2.RenameOwnerRequest(user_id=str(uuid.uuid4()), display_name="X"),
            metadata=metadata,
        ),
        lambda metadata: billing.DetachAccount(
            billing_service_pb2.DetachAccountRequest(user_id=str(uuid.uuid4())), metadata=metadata
        ),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            call(as_another_service)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
