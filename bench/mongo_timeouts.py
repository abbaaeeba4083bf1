"""How long a read waits when MongoDB is down, silent or stalling, with the client the server builds.

    python bench/mongo_timeouts.py [--timeout 2] [--concurrent 30]

For each failure (a refused port, a black hole that accepts and never answers, a fake that answers the handshake
and then stalls), `--concurrent` reads start at once and again staggered over half a second (PyMongo looks for a
server in steps of 0.5 s, so where in that step a read starts matters); prints the slowest and the bound. No
MongoDB server needed; the fakes are the tests' own (tests/support/).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pymongo.errors import PyMongoError  # noqa: E402 (needs the repository on the path first)
from support.fake_mongo import FakeMongo  # noqa: E402
from support.mongo import BlackHole, refused_url  # noqa: E402

from services.config import load_config  # noqa: E402
from services.infra import mongo_database  # noqa: E402


async def slowest(url: str, bound: float, count: int, stagger: float) -> float:
    database = mongo_database(load_config(None, environ={}, mongo_url=url, mongo_timeout_seconds=bound))

    async def one(delay: float) -> float:
        await asyncio.sleep(delay)
        started = time.monotonic()
        with contextlib.suppress(PyMongoError):  # the failure is expected: its time is what we measure
            await database.users.find_one({"_id": "someone"})
        return time.monotonic() - started

    try:
        return max(await asyncio.gather(*(one(stagger * n / count) for n in range(count))))
    finally:
        await database.client.close()


async def main(bound: float, count: int) -> None:
    hole, stall = BlackHole(), FakeMongo("stall")
    try:
        for name, url in (("refused", refused_url()), ("black hole", hole.url), ("stalls after handshake", stall.url)):
            together = await slowest(url, bound, count, 0)
            staggered = await slowest(url, bound, count, 0.5)
            print(f"{name:24} {count} reads at once: slowest {together:.2f} s; staggered over 0.5 s: slowest "
                  f"{staggered:.2f} s (MONGO_TIMEOUT_SECONDS {bound:g}, 1.5x = {1.5 * bound:g})")
    finally:
        hole.close()
        stall.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--concurrent", type=int, default=30)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.timeout, arguments.concurrent))
