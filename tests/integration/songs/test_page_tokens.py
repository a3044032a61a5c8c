"""Page tokens through the real songsvc: every token songsvc did not make for the
same listing (crafted, altered, truncated, made under another key, of another
listing or shape) is INVALID_ARGUMENT naming `page_token`, never INTERNAL."""

from datetime import datetime, timedelta, timezone

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from neutone.v1 import song_pb2
from neutone.v1 import song_service_pb2 as pb
from runtime.launcher import Stack
from runtime.pagination import PageTokens, ScorePosition, TimePosition
from tests.integration.forged_tokens import CRAFTED, SONG, forged_tokens
from tests.integration.helpers import field_violations, insert_song


def refused(call, request, **kwargs) -> dict[str, str]:
    with pytest.raises(grpc.RpcError) as error:
        call(request, **kwargs)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, error.value.details()
    return field_violations(error.value)


def publish(songs, user, database_url: str, category: str) -> str:
    song_id = insert_song(database_url, user.id, ready=True, categories=(category,))
    songs.UpdateSong(
        pb.UpdateSongRequest(
            song=song_pb2.Song(id=song_id, published=True),
            update_mask=FieldMask(paths=["published"]),
        ),
        metadata=user.metadata,
    )
    return song_id


def test_the_crafted_feed_token_is_invalid_argument_for_a_signed_out_caller(songs) -> None:
    violations = refused(songs.ListFeed, pb.ListFeedRequest(page_token=CRAFTED))
    assert violations == {"page_token": "is not a token from a previous response"}


@pytest.mark.parametrize("order", [pb.FEED_ORDER_NEWEST, pb.FEED_ORDER_TRENDING])
def test_forged_feed_tokens_are_refused_and_real_ones_still_page(
    songs, new_user, database_url, stack: Stack, order
) -> None:
    owner = new_user()
    for _ in range(2):
        publish(songs, owner, database_url, "blues")

    def page(token: str = "", order=order) -> pb.ListFeedRequest:
        return pb.ListFeedRequest(page_size=1, category="blues", order=order, page_token=token)

    real = songs.ListFeed(page()).next_page_token
    assert real
    assert len(songs.ListFeed(page(real)).songs) == 1
    trending = order == pb.FEED_ORDER_TRENDING
    query = {"listing": "feed", "category": "blues", "trending": trending}
    shape = ScorePosition if trending else TimePosition
    key = stack.env["NEUTONE_PAGE_TOKEN_KEY"]
    for name, token in forged_tokens(key, query, real, shape=shape).items():
        assert "page_token" in refused(songs.ListFeed, page(token)), name
    # A token of the other order is a token of another query.
    other = pb.FEED_ORDER_NEWEST if trending else pb.FEED_ORDER_TRENDING
    assert refused(songs.ListFeed, page(real, order=other)) == {
        "page_token": "belongs to a different query"
    }


def test_forged_tokens_of_my_songs_are_refused(songs, new_user, database_url, stack: Stack) -> None:
    user, other = new_user(), new_user()
    for _ in range(2):
        insert_song(database_url, user.id)
    real = songs.ListMySongs(pb.ListMySongsRequest(page_size=1), metadata=user.metadata)
    assert real.next_page_token
    query = {"listing": "my_songs", "owner": user.id}
    key = stack.env["NEUTONE_PAGE_TOKEN_KEY"]
    for name, token in forged_tokens(key, query, real.next_page_token, shape=TimePosition).items():
        request = pb.ListMySongsRequest(page_token=token)
        assert "page_token" in refused(songs.ListMySongs, request, metadata=user.metadata), name
    # Another owner's token belongs to another query.
    stolen = pb.ListMySongsRequest(page_token=real.next_page_token)
    assert refused(songs.ListMySongs, stolen, metadata=other.metadata) == {
        "page_token": "belongs to a different query"
    }
    # An extreme but well-formed position is just a position: an empty page, no error.
    earliest = datetime.min.replace(tzinfo=timezone(timedelta(hours=23)))
    extreme = PageTokens(key).encode(TimePosition(time=earliest, id=SONG), query=query)
    page = songs.ListMySongs(pb.ListMySongsRequest(page_token=extreme), metadata=user.metadata)
    assert list(page.songs) == []
