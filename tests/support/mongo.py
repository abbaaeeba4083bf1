"""MongoDB for the tests: the in-memory store, suspending inside every call as the real driver does, or the real
server that `TEST_MONGO_URL` names (`TEST_MONGO_URL=mongodb://localhost:27017 scripts/test`).

Every test gets fresh databases, named after the run (`test_<pid>_<random>_<n>`) and dropped when the test ends;
the run drops whatever of its own is left at its end. On a real server the client is built as the server builds
its own (services/infra/backends.py), so the tests run with the timeouts and options users run with.

Also here: the stand-ins for a MongoDB that is down (a refused port, a black hole that accepts and never answers)
and the way tests make MongoDB answer a failure after a write has landed.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.config import load_config
from services.infra import InMemoryMongo, mongo_database

TEST_MONGO_URL = os.environ.get("TEST_MONGO_URL", "")
real_mongo_only = pytest.mark.skipif(not TEST_MONGO_URL,
                                     reason="needs a MongoDB server: TEST_MONGO_URL=mongodb://host:27017 scripts/test")


def run_prefix() -> str:
    return f"test_{os.getpid()}_{secrets.token_hex(3)}"


def url_for(database: str, base: str = TEST_MONGO_URL) -> str:
    """`base` (its hosts and options) naming `database`: the MONGO_URL of a server process sharing it."""
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))


class MongoDatabases:
    """The fresh databases of one test; all dropped by `drop_all`."""

    def __init__(self, prefix: str, url: str = TEST_MONGO_URL) -> None:
        self.prefix = prefix
        self.url = url
        self.names: list[str] = []
        self._made: list[Any] = []

    @property
    def real(self) -> bool:
        return bool(self.url)

    def new(self, **settings: Any) -> Any:
        """A new, empty database; `settings` reach the real client as they would the server's (write concern...)."""
        name = f"{self.prefix}_{len(self.names)}"
        self.names.append(name)
        if not self.real:
            return InMemoryMongo(suspend=True)[name]
        database = mongo_database(load_config(None, environ={}, mongo_url=url_for(name, self.url), **settings))
        self._made.append(database)
        return database

    def url_of(self, database: Any) -> str:
        return url_for(database.name, self.url)

    async def drop_all(self) -> None:
        """Drop this test's databases, and close the clients it made (closing twice is fine)."""
        for database in self._made:
            await database.client.close()
        if self.real and self.names:
            await drop(self.url, lambda name: name in self.names)


async def drop(url: str, which: Callable[[str], bool]) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(url, timeoutMS=10_000)
    try:
        for name in await client.list_database_names():
            if which(name):
                await client.drop_database(name)
    finally:
        await client.close()


def drop_run(prefix: str) -> None:
    """At the end of the run: whatever a test of this run left behind (one that was killed, say)."""
    if TEST_MONGO_URL:
        asyncio.run(drop(TEST_MONGO_URL, lambda name: name.startswith(prefix)))


class BlackHole:
    """A MongoDB that went silent: a port that accepts connections and never answers a byte."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/silent"

    def close(self) -> None:
        self._socket.close()


def refused_url() -> str:
    """A MongoDB that is down: a local port nothing listens on (bound once, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"mongodb://127.0.0.1:{port}/down"


def fails_once(method: Callable[..., Awaitable[Any]], error: Exception, *,
               landed: bool = True) -> Callable[..., Awaitable[Any]]:
    """`method`, whose first call reports `error`: after doing its work (`landed`: a missed write concern, a network
    error after the write was sent), or before (the write never reached MongoDB). Later calls just work, as they
    do once the fault has passed. Patched onto a collection, so the stores above it see what the driver raises."""
    calls = 0

    async def once_failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > 1:
            return await method(*args, **kwargs)
        if landed:
            await method(*args, **kwargs)
        raise error

    return once_failing


def first_host(url: str = TEST_MONGO_URL) -> tuple[str, int]:
    """The first host of a MongoDB URL, as (name, port)."""
    host = urllib.parse.urlsplit(url).netloc.rpartition("@")[2].split(",")[0]
    parsed = urllib.parse.urlsplit(f"//{host}")
    return parsed.hostname or "localhost", parsed.port or 27017


class TcpProxy:
    """A port that forwards to the real MongoDB once `open()` is called: before, nothing listens (refused).
    A server pointed at it (`url`) starts while MongoDB is "down" and sees it come back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []

    def url(self, database: str, base: str = TEST_MONGO_URL) -> str:
        """`base` with its credentials and options, through the proxy, to `database`, on this one member."""
        parts = urllib.parse.urlsplit(base)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        query = "&".join(filter(None, [parts.query, "directConnection=true"]))
        return urllib.parse.urlunsplit(("mongodb", netloc, f"/{database}", query, ""))

    def open(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        for sock in [self._listener, *self._sockets]:
            if sock is not None:
                sock.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        sink.close()
