"""Benchmark: a fair share of the workers, on the real stack with the tiny models.

    .venv/bin/python -m bench.fairness [--heavy 40] [--concurrency 4] [--duration 10]

Person A queues `--heavy` songs at once; right after, person B asks for one. B's
wait (CreateSong until READY) is printed beside B's wait on an idle queue, with
how many of A's songs were finished before B's. Without turns, B would wait for
all of A's songs; with them, B's song goes into the next batch a worker forms."""

import argparse
import asyncio
import time

import grpc

from bench.pipeline import make_song
from bench.stack import bench_stack, outbox, signed_up
from neutone.v1 import song_pb2, song_service_pb2_grpc
from neutone.v1 import song_service_pb2 as song_pb

SERVICES = ["triton", "usersvc", "billingsvc", "songsvc", "songsvc-worker"]


async def ready_count(songs, metadata) -> int:
    reply = await songs.ListMySongs(song_pb.ListMySongsRequest(page_size=100), metadata=metadata)
    return sum(song.status == song_pb2.SONG_STATUS_READY for song in reply.songs)


async def run(stack, params: song_pb2.GenerationParams, heavy: int) -> None:
    async with (
        grpc.aio.insecure_channel(stack.address("usersvc")) as users_channel,
        grpc.aio.insecure_channel(stack.address("songsvc")) as songs_channel,
    ):
        songs = song_service_pb2_grpc.SongServiceStub(songs_channel)
        person_a = await signed_up(users_channel, outbox(stack), "A")
        person_b = await signed_up(users_channel, outbox(stack), "B")
        await make_song(songs, person_b, params, -1)  # warm every path once
        alone = await make_song(songs, person_b, params, 0)

        started = time.perf_counter()
        heavy_songs = [
            asyncio.create_task(make_song(songs, person_a, params, 100 + index))
            for index in range(heavy)
        ]
        await asyncio.sleep(0.2)  # A's songs are all queued before B asks
        behind = await make_song(songs, person_b, params, 1)
        a_done_first = await ready_count(songs, person_a)
        await asyncio.gather(*heavy_songs)
        heavy_total = time.perf_counter() - started

        print(f"person B's song, {params.duration_seconds:g} s long:")
        print(f"  on an idle queue                {alone:7.2f} s")
        print(f"  behind A's {heavy} queued songs      {behind:7.2f} s  ({behind / alone:.1f}x)")
        print(f"  A's songs finished before B's   {a_done_first:4d} of {heavy}")
        print(f"  all of A's songs took           {heavy_total:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heavy", type=int, default=40, help="songs person A queues at once")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs the worker runs at once")
    parser.add_argument("--duration", type=float, default=10, help="song length in seconds")
    args = parser.parse_args()
    extra = {
        "NEUTONE_WELCOME_GRANT_CREDITS": "1000",
        "NEUTONE_MAX_SONGS_IN_FLIGHT": str(args.heavy + 1),
        "NEUTONE_WORKER_CONCURRENCY": str(args.concurrency),
        # A follows each of its songs with a stream of its own, B one more.
        "NEUTONE_WATCH_STREAMS_PER_USER": str(args.heavy + 1),
    }
    with bench_stack(SERVICES, extra_env=extra) as (stack, _):
        params = song_pb2.GenerationParams(duration_seconds=args.duration)
        asyncio.run(run(stack, params, args.heavy))


if __name__ == "__main__":
    main()
