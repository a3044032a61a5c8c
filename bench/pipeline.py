"""Benchmark: the generation pipeline on the real stack with the tiny models.

    .venv/bin/python -m bench.pipeline [--songs 20] [--batch 16] [--duration SECONDS]

1. Orchestration overhead: songs made one at a time; for each, the time from
   CreateSong until WatchSong reports READY, minus the time Triton spent on it
   (planner, then the longer of acestep and cover, from Triton's statistics).
2. Throughput: `--batch` songs submitted at once vs the same number one at a time.

Songs have the service's default parameters (engines/limits.py: 30 seconds, 8
inference steps), as people get them when they only describe a song, unless
`--duration` asks for another length. The overhead is about the same number of
milliseconds for any song; its share of the time shrinks as songs get longer."""

import argparse
import asyncio
import statistics
import time

import grpc
import tritonclient.grpc.aio as triton

from bench.stack import bench_stack, outbox, signed_up
from neutone.v1 import song_pb2, song_service_pb2_grpc
from neutone.v1 import song_service_pb2 as song_pb
from runtime.launcher import Stack

SERVICES = ["triton", "usersvc", "billingsvc", "songsvc", "songsvc-worker"]
MODELS = ("planner", "acestep", "cover")


async def model_seconds(client: triton.InferenceServerClient) -> dict[str, tuple[int, float]]:
    """Per model: (successful requests, total seconds inside Triton) so far."""
    totals = {}
    for model in MODELS:
        stats = await client.get_inference_statistics(model)
        success = stats.model_stats[0].inference_stats.success
        totals[model] = (success.count, success.ns / 1e9)
    return totals


async def make_song(songs, metadata, params: song_pb2.GenerationParams, index: int) -> float:
    started = time.perf_counter()
    reply = await songs.CreateSong(
        song_pb.CreateSongRequest(description=f"benchmark song {index}", params=params),
        metadata=metadata,
    )
    async for update in songs.WatchSong(
        song_pb.WatchSongRequest(song_id=reply.song.id), metadata=metadata
    ):
        if update.song.status == song_pb2.SONG_STATUS_READY:
            return time.perf_counter() - started
        if update.song.status == song_pb2.SONG_STATUS_FAILED:
            raise RuntimeError(update.song.failure_reason)
    raise RuntimeError("WatchSong ended before the song was ready")


async def run(
    stack: Stack,
    params: song_pb2.GenerationParams,
    songs_count: int,
    batch: int,
) -> None:
    async with (
        grpc.aio.insecure_channel(stack.address("usersvc")) as users_channel,
        grpc.aio.insecure_channel(stack.address("songsvc")) as songs_channel,
        triton.InferenceServerClient(stack.triton_url) as models,
    ):
        songs = song_service_pb2_grpc.SongServiceStub(songs_channel)
        metadata = await signed_up(users_channel, outbox(stack))
        await make_song(songs, metadata, params, -1)  # warm every path once

        overheads, totals = [], []
        for index in range(songs_count):
            before = await model_seconds(models)
            elapsed = await make_song(songs, metadata, params, index)
            after = await model_seconds(models)
            spent = {m: after[m][1] - before[m][1] for m in MODELS}
            in_models = spent["planner"] + max(spent["acestep"], spent["cover"])
            totals.append(elapsed)
            overheads.append(elapsed - in_models)
        mean_total = statistics.mean(totals)
        mean_overhead = statistics.mean(overheads)
        print(f"orchestration overhead over {songs_count} songs, one at a time:")
        print(
            f"  end to end      mean {mean_total * 1000:8.1f} ms   p50 {statistics.median(totals) * 1000:8.1f} ms"
        )
        print(f"  in Triton       mean {(mean_total - mean_overhead) * 1000:8.1f} ms")
        print(
            f"  overhead        mean {mean_overhead * 1000:8.1f} ms"
            f"   = {mean_overhead / mean_total:.1%} of end to end (target < 5%)"
        )

        started = time.perf_counter()
        for index in range(batch):
            await make_song(songs, metadata, params, 1000 + index)
        one_at_a_time = time.perf_counter() - started
        started = time.perf_counter()
        await asyncio.gather(*(make_song(songs, metadata, params, 2000 + i) for i in range(batch)))
        all_at_once = time.perf_counter() - started
        print(f"throughput, {batch} songs:")
        print(f"  one at a time   {one_at_a_time:7.2f} s   {batch / one_at_a_time:6.2f} songs/s")
        print(f"  all at once     {all_at_once:7.2f} s   {batch / all_at_once:6.2f} songs/s")
        print(f"  ratio           {one_at_a_time / all_at_once:7.2f}x (target >= 1.5x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--songs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument(
        "--duration", type=float, default=0, help="song length in seconds (default: the service's)"
    )
    args = parser.parse_args()
    extra = {
        "NEUTONE_WELCOME_GRANT_CREDITS": "1000",
        "NEUTONE_MAX_SONGS_IN_FLIGHT": "1000",
        "NEUTONE_WORKER_CONCURRENCY": "16",
    }
    with bench_stack(SERVICES, extra_env=extra) as (stack, _):
        params = song_pb2.GenerationParams(duration_seconds=args.duration)
        asyncio.run(run(stack, params, args.songs, args.batch))


if __name__ == "__main__":
    main()
