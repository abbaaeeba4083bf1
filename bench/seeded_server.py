"""Our server with N users already in its embedded store: GET /user at 1,000 vs 100,000 users (bench/compare.py).

    python bench/seeded_server.py --users 100000 --port P     (settings from the environment, as `serve`)

Builds the app in-process from the same pieces as `server.py serve` (services.wiring.build_services and
handlers.application.make_app), puts `--users` documents into the users collection with one precomputed
password hash (no 100,000 bcrypts), then serves until SIGTERM. User number 0 is `seeded-0@example.com` with
the password `--password`, so a client can log in and read itself.

The embedded in-memory store (mongomock, services/infra/memory_mongo.py) checks its unique email index by
scanning every document, so 100,000 `insert_one`s would take hours: the documents go straight into mongomock's
store instead, the shape `UserStore.create` writes. Only the bench does this; the server never touches mongomock's
internals.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import tornado.httpserver

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.application import make_app  # noqa: E402 (needs the repository on the path first)
from services.accounts import PasswordHasher  # noqa: E402 (needs the repository on the path first)
from services.config import load_config  # noqa: E402 (needs the repository on the path first)
from services.infra import mongo_database, redis_client  # noqa: E402 (needs the repository on the path first)
from services.wiring import build_executors, build_services, start_services, stop_services  # noqa: E402


def seed(collection: object, count: int, password_hash: str) -> None:
    store = collection._collection._store  # type: ignore[attr-defined] # mongomock's, behind our adapter
    now = int(time.time())
    for number in range(count):
        uid = str(uuid.uuid4())
        store[uid] = {"_id": uid, "email": f"seeded-{number}@example.com", "name": f"Seeded {number}",
                      "password_hash": password_hash, "email_verified": False, "created_at": now,
                      "updated_at": now, "token_epoch": 0, "picture": None, "disabled": False}


async def serve(args: argparse.Namespace) -> None:
    config = load_config(ROOT / "config.yaml", os.environ)
    if not config.embedded_mongo:
        raise SystemExit("seeded_server.py seeds the embedded store: unset MONGO_URL")
    executors = build_executors(config)
    redis = redis_client(config.redis_url, config.redis_timeout_seconds)
    services = build_services(config, mongo_database(config), redis, executors)
    await start_services(services)
    started = time.monotonic()
    seed(services.users._users, args.users, PasswordHasher(config.bcrypt_cost)._hash_sync(args.password))
    print(f"seeded {args.users} users in {time.monotonic() - started:.1f}s", flush=True)
    server = tornado.httpserver.HTTPServer(make_app(services), max_body_size=1 << 40)
    server.listen(args.port, "127.0.0.1")
    gc.collect()
    gc.freeze()  # as `serve` does
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    await stopping.wait()
    server.stop()
    await stop_services(services)
    executors.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--password", default="Benchmark-password-123")
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
