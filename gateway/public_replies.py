"""Replies to signed-out visitors, kept for a moment.

A signed-out visitor's call to a public, side-effect-free method (the feed, the
categories, a published song) gets the same reply whoever sends it, and a burst
of visitors sends the same few calls. Keeping each reply for about a second
answers such a burst with one upstream call; it is the edge micro-cache a CDN
would be if grpc-web calls were not POSTs. A successful call with side effects
through this gateway clears its service's replies here at once; other gateway
replicas show it within the time to live. The reply upstream may itself be up to
songsvc's feed cache (`feed_cache_seconds`) old when another songsvc replica
serves it, so a change can take both lifetimes to reach a signed-out visitor.
Calls that only move counters (plays, likes: `(neutone.v1.changes_only_counters)`
in the contract) keep the replies: a count a moment old is fine, and clearing on
every play would let anyone empty the cache at will."""

from cachetools import TTLCache

from gateway.methods import BridgedMethod


class PublicReplies:
    def __init__(self, *, ttl_seconds: float, max_entries: int) -> None:
        self._ttl_seconds = ttl_seconds
        self._max_entries = max_entries
        # One cache per upstream service, so a write clears only its service's replies.
        self._by_service: dict[str, TTLCache[tuple[str, bytes], bytes]] = {}

    def get(self, method: BridgedMethod, message: bytes) -> bytes | None:
        replies = self._by_service.get(method.service)
        return None if replies is None else replies.get((method.path, message))

    def keep(self, method: BridgedMethod, message: bytes, reply: bytes) -> None:
        if self._ttl_seconds <= 0:
            return
        replies = self._by_service.get(method.service)
        if replies is None:
            replies = TTLCache(maxsize=self._max_entries, ttl=self._ttl_seconds)
            self._by_service[method.service] = replies
        replies[(method.path, message)] = reply

    def changed(self, service: str) -> None:
        """A call with side effects on `service` succeeded: its replies may be stale."""
        replies = self._by_service.get(service)
        if replies is not None:
            replies.clear()
