"""Benchmark: ListFeed latency with 10 thousand vs 1 million published songs.

    .venv/bin/python -m bench.feed [--requests 400] [--clients 8]

Fills songsvc's tables in bulk (SQL generate_series), then calls ListFeed over gRPC:
newest and trending, with and without a category, on the first page and on pages
deep inside the feed (page tokens at random positions), and prints p50/p99 for each
size and their ratio."""

import argparse
import asyncio
import random
import time

import grpc
import psycopg

from bench.stack import bench_stack
from bench.stats import Figures
from engines.categories import CATEGORIES
from neutone.v1 import song_service_pb2 as song_pb
from neutone.v1 import song_service_pb2_grpc
from runtime.pagination import PageTokens, ScorePosition, TimePosition

FILL_SQL = """
INSERT INTO songs.songs (id, owner_id, owner_display_name, title, status, stage, progress,
    mode, description, instrumental, duration_seconds, seed, guidance_scale, inference_steps,
    prompt_used, lyrics_used, categories, audio_key, cover_key, published, like_count,
    play_count, create_time, publish_time)
SELECT gen_random_uuid(), gen_random_uuid(), 'Bench', 'Song ' || n, 'ready', 'done', 1,
    'description', 'a benchmark song', false, 30, n, 7, 8, 'style', '[instrumental]',
    (%(categories)s::text[])[1 + n %% %(category_count)s:1 + n %% %(category_count)s],
    'a', 'c', true, n %% 97, n %% 1013,
    now() - make_interval(secs => n), now() - make_interval(secs => n)
FROM generate_series(%(start)s::bigint, %(stop)s::bigint) AS n
"""
FEED_SQL = """
INSERT INTO songs.feed_entries (category, song_id, publish_time, trending_score)
SELECT c.category, s.id, s.publish_time,
    log(greatest(1, s.like_count * 2 + s.play_count)) + extract(epoch from s.publish_time) / 45000.0
FROM songs.songs s CROSS JOIN LATERAL (SELECT '' UNION ALL SELECT unnest(s.categories)) AS c(category)
WHERE s.title LIKE 'Song %%' AND NOT EXISTS (SELECT 1 FROM songs.feed_entries f WHERE f.song_id = s.id)
"""


def fill(url: str, *, up_to: int, already: int) -> None:
    """Adds songs already+1 .. up_to, each in one category, all published."""
    categories = "{" + ",".join(f'"{c}"' for c in CATEGORIES) + "}"
    with psycopg.connect(url, autocommit=True) as db:
        step = 200_000
        for start in range(already + 1, up_to + 1, step):
            db.execute(
                FILL_SQL,
                {
                    "categories": categories,
                    "category_count": len(CATEGORIES),
                    "start": start,
                    "stop": min(up_to, start + step - 1),
                },
            )
        db.execute(FEED_SQL)
        db.execute("VACUUM ANALYZE songs.songs")
        db.execute("VACUUM ANALYZE songs.feed_entries")


def requests_for(url: str, count: int, tokens: PageTokens) -> list[song_pb.ListFeedRequest]:
    """A mix of first pages and pages deep in the feed, both orders, with and
    without a category filter (deep pages by tokens made with songsvc's key)."""
    rng = random.Random(42)
    with psycopg.connect(url) as db:
        entries = db.execute("SELECT count(*) FROM songs.feed_entries").fetchone()[0]
        percent = min(100.0, 100.0 * 4000 / entries)  # about 4000 random entries
        sample = db.execute(
            "SELECT category, song_id, publish_time, trending_score FROM songs.feed_entries"
            " TABLESAMPLE BERNOULLI (%s)",
            (percent,),
        ).fetchall()
    made = []
    for _ in range(count):
        category, song_id, publish_time, score = rng.choice(sample)
        trending = rng.random() < 0.5
        order = song_pb.FEED_ORDER_TRENDING if trending else song_pb.FEED_ORDER_NEWEST
        token = ""
        if rng.random() < 0.7:
            position = (
                ScorePosition(score=score, id=song_id)
                if trending
                else TimePosition(time=publish_time, id=song_id)
            )
            query = {"listing": "feed", "category": category, "trending": trending}
            token = tokens.encode(position, query=query)
        made.append(
            song_pb.ListFeedRequest(page_size=20, category=category, order=order, page_token=token)
        )
    return made


async def measure(
    address: str, requests: list[song_pb.ListFeedRequest], clients: int, name: str
) -> Figures:
    """`clients` concurrent callers share the requests, each one call at a time."""
    async with grpc.aio.insecure_channel(address) as channel:
        songs = song_service_pb2_grpc.SongServiceStub(channel)
        await songs.ListFeed(requests[0])  # opens the channel
        latencies: list[float] = []

        async def client(share: list[song_pb.ListFeedRequest]) -> None:
            for request in share:
                begun = time.perf_counter()
                await songs.ListFeed(request)
                latencies.append(time.perf_counter() - begun)

        started = time.perf_counter()
        await asyncio.gather(*(client(requests[i::clients]) for i in range(clients)))
        return Figures.of(name, latencies, time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    with bench_stack(["songsvc"]) as (stack, _):
        url = stack.env["NEUTONE_DATABASE_URL"]
        address = stack.address("songsvc")
        tokens = PageTokens(stack.env["NEUTONE_PAGE_TOKEN_KEY"])
        results = []
        filled = 0
        for size in (10_000, args.large):
            started = time.perf_counter()
            fill(url, up_to=size, already=filled)
            filled = size
            print(f"filled {size:,} songs in {time.perf_counter() - started:.0f} s", flush=True)
            figures = asyncio.run(
                measure(
                    address,
                    requests_for(url, args.requests, tokens),
                    args.clients,
                    f"ListFeed {size:,}",
                )
            )
            print(figures.line(), flush=True)
            results.append(figures)
        small, large = results
        print(
            f"ratio {args.large:,} / 10,000 songs: p50 {large.p50_ms / small.p50_ms:.2f}x,"
            f" p99 {large.p99_ms / small.p99_ms:.2f}x (target < 1.5)"
        )


if __name__ == "__main__":
    main()
