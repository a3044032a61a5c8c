"""PublicReplies: what is kept, for whom, and what clears it."""

from gateway.methods import browser_methods
from gateway.public_replies import PublicReplies

METHODS = browser_methods()
LIST_FEED = METHODS["/neutone.v1.SongService/ListFeed"]
LIST_PRODUCTS = METHODS["/neutone.v1.BillingService/ListProducts"]


def test_only_public_side_effect_free_unary_methods_have_one_reply_for_everyone() -> None:
    shared = {path for path, method in METHODS.items() if method.same_reply_for_everyone}
    assert shared == {
        "/neutone.v1.SongService/GetSong",
        "/neutone.v1.SongService/GetSongMedia",
        "/neutone.v1.SongService/ListFeed",
        "/neutone.v1.SongService/ListCategories",
        "/neutone.v1.SongService/SearchSongs",
        "/neutone.v1.SongService/GetArtist",
        "/neutone.v1.SongService/ListArtistSongs",
        "/neutone.v1.BillingService/ListProducts",
    }
    # Reads that depend on who asks, and anything that changes state, never are.
    assert not METHODS["/neutone.v1.SongService/ListMySongs"].same_reply_for_everyone
    assert not METHODS["/neutone.v1.SongService/ListLikedSongs"].same_reply_for_everyone
    assert not METHODS["/neutone.v1.SongService/RecordPlay"].same_reply_for_everyone


def test_a_reply_is_kept_per_method_and_request() -> None:
    replies = PublicReplies(ttl_seconds=60, max_entries=8)
    replies.keep(LIST_FEED, b"page-1", b"songs")
    assert replies.get(LIST_FEED, b"page-1") == b"songs"
    assert replies.get(LIST_FEED, b"page-2") is None
    assert replies.get(LIST_PRODUCTS, b"page-1") is None


def test_a_change_clears_only_its_service() -> None:
    replies = PublicReplies(ttl_seconds=60, max_entries=8)
    replies.keep(LIST_FEED, b"", b"songs")
    replies.keep(LIST_PRODUCTS, b"", b"products")
    replies.changed(LIST_FEED.service)
    assert replies.get(LIST_FEED, b"") is None
    assert replies.get(LIST_PRODUCTS, b"") == b"products"


def test_a_zero_time_to_live_keeps_nothing() -> None:
    replies = PublicReplies(ttl_seconds=0, max_entries=8)
    replies.keep(LIST_FEED, b"", b"songs")
    assert replies.get(LIST_FEED, b"") is None


def test_only_calls_that_change_more_than_counters_make_replies_stale() -> None:
    counters = {
        path
        for path, method in METHODS.items()
        if method.side_effects and not method.makes_public_replies_stale
    }
    # Declared in the contracts with `(neutone.v1.changes_only_counters)`.
    assert counters == {
        "/neutone.v1.SongService/RecordPlay",
        "/neutone.v1.SongService/LikeSong",
        "/neutone.v1.SongService/UnlikeSong",
    }
    for path in ("UpdateSong", "DeleteSong", "CreateSong"):
        assert METHODS[f"/neutone.v1.SongService/{path}"].makes_public_replies_stale
    assert not LIST_FEED.makes_public_replies_stale
