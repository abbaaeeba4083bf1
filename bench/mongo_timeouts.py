"""How long a read waits when MongoDB is down, silent or stalling, with the client the server builds.

    python bench/mongo_timeouts.py [--timeout 2] [--concurrent 30]

For each failure (a refused port, a black hole that accepts and never answers, a fake that answers the handshake
and then stalls), `--concurrent` reads start at once and again staggered over half a second (PyMongo looks for a
server in steps of 0.5 s, so where in that step a read starts matters); prints the slowest and the bound, for the
driver's read alone and for the same read as a store makes it (`@mongo_guarded`, which ends the call at the bound).
No MongoDB server needed; the fakes are the tests' own (tests/support/).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from pymongo.errors import PyMongoError  # noqa: E402 (needs the repository on the path first)
from support.fake_mongo import FakeMongo  # noqa: E402
from support.mongo import BlackHole, refused_url  # noqa: E402

from services.config import load_config  # noqa: E402
from services.infra import MongoStore, mongo_database, mongo_guarded  # noqa: E402
from services.outcomes import ServiceUnavailable  # noqa: E402


class Users(MongoStore):
    def __init__(self, database: Any) -> None:
        super().__init__(database)
        self._users = database.users

    async def driver_read(self) -> Any:
        return await self._users.find_one({"_id": "someone"})

    @mongo_guarded
    async def store_read(self) -> Any:
        return await self._users.find_one({"_id": "someone"})


async def slowest(url: str, bound: float, count: int, stagger: float, guarded: bool) -> float:
    database = mongo_database(load_config(None, environ={}, mongo_url=url, mongo_timeout_seconds=bound))
    users = Users(database)
    read = users.store_read if guarded else users.driver_read

    async def one(delay: float) -> float:
        await asyncio.sleep(delay)
        started = time.monotonic()
        with contextlib.suppress(PyMongoError, ServiceUnavailable):  # expected: its time is what we measure
            await read()
        return time.monotonic() - started

    try:
        return max(await asyncio.gather(*(one(stagger * n / count) for n in range(count))))
    finally:
        await database.client.close()


async def main(bound: float, count: int) -> None:
    logging.getLogger("auth.mongo").setLevel(logging.ERROR)  # one warning per failed store call: the point here
    hole, stall = BlackHole(), FakeMongo("stall")
    try:
        print(f"MONGO_TIMEOUT_SECONDS {bound:g}; slowest of {count} reads, at once / staggered over 0.5 s")
        for name, url in (("refused", refused_url()), ("black hole", hole.url), ("stalls after handshake", stall.url)):
            row = [f"{await slowest(url, bound, count, stagger, guarded):.2f} s"
                   for guarded in (False, True) for stagger in (0, 0.5)]
            print(f"{name:24} driver alone: {row[0]} / {row[1]}; store call: {row[2]} / {row[3]}")
    finally:
        hole.close()
        stall.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=2.0)
    parser.add_argument("--concurrent", type=int, default=30)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.timeout, arguments.concurrent))
