"""What one per-request MGET costs our process, by way of calling Redis: redis-py's client or the batched reads,
with redis-py's own RESP parser or hiredis's.

    .venv/bin/python bench/redis_calls.py [--tasks 50] [--reads 200] [--rounds 3] [--only VARIANT]

Starts a redis-server (not persistent), writes three keys, then for each variant runs `--tasks` concurrent tasks
that each read the three keys with one MGET `--reads` times, as 50 concurrent requests do. Prints CPU µs of this
process per MGET (user + system; redis-server's is not in it) and the MGETs per second, the best of `--rounds`,
variants interleaved. `--only` runs one variant once, for `valgrind --tool=callgrind` (instructions, which the
machine's other work cannot move: run it with two values of `--reads` and take the difference).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench_user as bu
from redis._parsers import _AsyncHiredisParser, _AsyncRESP3Parser

from services.infra import BatchedReads, redis_client

KEYS = ["auth:{u}:epoch", "auth:{u}:session:s", "auth:{u}:user"]
PARSERS = {"python": _AsyncRESP3Parser, "hiredis": _AsyncHiredisParser}


def client(url: str, parser: str) -> Any:
    redis = redis_client(url, 1.0)
    redis.connection_pool.connection_kwargs["parser_class"] = PARSERS[parser]
    return redis


async def run(url: str, variant: str, tasks: int, reads: int) -> tuple[float, float]:
    """(CPU µs per MGET, MGETs per second) of one variant."""
    how, parser = variant.split("/")
    redis = client(url, parser)
    batched = BatchedReads(redis, 1.0) if how == "batched" else None

    async def reader() -> None:
        for _ in range(reads):
            values = await (batched.mget(KEYS) if batched else redis.mget(KEYS))
            assert values[0] == "7", values

    await asyncio.gather(*(reader() for _ in range(min(tasks, 5))))  # connections made, code warm
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(reader() for _ in range(tasks)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if batched:
        await batched.close()
    await redis.aclose()
    return cpu / (tasks * reads) * 1e6, tasks * reads / wall


async def prepare(url: str) -> None:
    redis = redis_client(url, 1.0)
    await redis.mset({KEYS[0]: "7", KEYS[1]: '{"id":"s"}', KEYS[2]: "a1b2c3d4e5f60708"})
    await redis.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", help="one variant, once: client/python, client/hiredis, batched/python, "
                        "batched/hiredis")
    args = parser.parse_args(argv)
    variants = [args.only] if args.only else ["client/python", "client/hiredis", "batched/python", "batched/hiredis"]
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as folder:
        redis = bu.EmbeddedRedis(Path(folder), port=bu.free_port(), persistent=False)
        redis.start()
        try:
            asyncio.run(prepare(redis.url))
            best: dict[str, tuple[float, float]] = {}
            for _ in range(1 if args.only else args.rounds):
                for variant in variants:
                    cpu, rate = asyncio.run(run(redis.url, variant, args.tasks, args.reads))
                    if variant not in best or cpu < best[variant][0]:
                        best[variant] = (cpu, rate)
        finally:
            redis.stop()
    print(f"{args.tasks} concurrent tasks x {args.reads} MGETs of 3 keys, best of {args.rounds}:")
    for variant, (cpu, rate) in best.items():
        print(f"  {variant:<16} {cpu:6.1f} µs CPU per MGET  {rate:9,.0f} MGETs/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
