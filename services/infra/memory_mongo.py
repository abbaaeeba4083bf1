"""The embedded default's MongoDB: mongomock's in-memory collections behind the coroutines of PyMongo's asyncio API.

Only what the stores call is here, each with `AsyncMongoClient`'s signature (`pymongo.asynchronous`): a method a
real server would not have fails as an AttributeError here too, instead of working in development and nowhere
else. mongomock does the query work, so a filter or an update means what it means on MongoDB; the errors are
PyMongo's own (`DuplicateKeyError`, `OperationFailure`). Why our own adapter and not a package: mongomock-motor
copies Motor's API (the driver we left) and pulls Motor in; pymongo-async-mock passes most of mongomock through,
including what MongoDB refuses, and neither can suspend inside a call.

`suspend=True` makes every call give the event loop a turn before and after its work, as the real driver does
while a command travels to the server and its reply comes back. The tests run that way, so two requests can
interleave between a read and the write that depends on it, and a race shows in our own suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import mongomock
from pymongo import IndexModel

T = TypeVar("T")

# `hello` of a standalone server: no `setName`, so no commit quorum is asked for (services/infra/mongo_indexes.py).
_HELLO = {"isWritablePrimary": True, "maxWireVersion": 21, "ok": 1.0}


class InMemoryMongo:
    """Stands where an `AsyncMongoClient` would: databases by name, and `close()`."""

    def __init__(self, *, suspend: bool = False) -> None:
        self._client = mongomock.MongoClient()
        self._suspend = suspend

    def __getitem__(self, name: str) -> MemoryDatabase:
        return self.get_database(name)

    def get_database(self, name: str) -> MemoryDatabase:
        return MemoryDatabase(self, self._client[name], self._suspend)

    async def drop_database(self, name: str) -> None:
        self._client.drop_database(name)

    async def close(self) -> None:
        """Nothing to release: the data lives as long as the process."""


class MemoryDatabase:
    def __init__(self, client: InMemoryMongo, database: Any, suspend: bool) -> None:
        self.client = client
        self._database = database
        self._suspend = suspend

    @property
    def name(self) -> str:
        return str(self._database.name)

    def __getitem__(self, name: str) -> MemoryCollection:
        return self.get_collection(name)

    def __getattr__(self, name: str) -> MemoryCollection:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get_collection(name)

    def get_collection(self, name: str) -> MemoryCollection:
        return MemoryCollection(self, self._database[name], self._suspend)

    async def command(self, command: str | dict[str, Any]) -> dict[str, Any]:
        """`ping` and `hello`: what readiness and the index build ask. Anything else: MongoDB's "no such command"."""
        name = command if isinstance(command, str) else next(iter(command))
        if name not in ("ping", "hello"):
            raise mongomock.OperationFailure(f"no such command: '{name}'", 59)
        return await _call(self._suspend, lambda: dict(_HELLO) if name == "hello" else {"ok": 1.0})


class MemoryCollection:
    def __init__(self, database: MemoryDatabase, collection: Any, suspend: bool) -> None:
        self.database = database
        self._collection = collection
        self._suspend = suspend

    @property
    def name(self) -> str:
        return str(self._collection.name)

    async def _run(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return await _call(self._suspend, lambda: getattr(self._collection, method)(*args, **kwargs))

    async def insert_one(self, document: dict[str, Any]) -> Any:
        return await self._run("insert_one", document)

    async def find_one(self, filter: dict[str, Any], projection: dict[str, Any] | None = None) -> Any:
        return await self._run("find_one", filter, projection)

    async def find_one_and_update(self, filter: dict[str, Any], update: dict[str, Any], **options: Any) -> Any:
        return await self._run("find_one_and_update", filter, update, **options)

    async def find_one_and_delete(self, filter: dict[str, Any]) -> Any:
        return await self._run("find_one_and_delete", filter)

    async def update_one(self, filter: dict[str, Any], update: dict[str, Any], upsert: bool = False) -> Any:
        return await self._run("update_one", filter, update, upsert=upsert)

    async def update_many(self, filter: dict[str, Any], update: dict[str, Any]) -> Any:
        return await self._run("update_many", filter, update)

    async def delete_one(self, filter: dict[str, Any]) -> Any:
        return await self._run("delete_one", filter)

    async def delete_many(self, filter: dict[str, Any]) -> Any:
        return await self._run("delete_many", filter)

    async def count_documents(self, filter: dict[str, Any]) -> int:
        return int(await self._run("count_documents", filter))

    def find(self, filter: dict[str, Any] | None = None, projection: dict[str, Any] | None = None) -> MemoryCursor:
        """Not a coroutine, as in PyMongo: the query runs when the cursor is first read."""
        return MemoryCursor(self._collection.find(filter or {}, projection), self._suspend)

    async def create_index(self, keys: list[tuple[str, int]], **options: Any) -> str:
        return str(await self._run("create_index", keys, **options))

    async def create_indexes(self, indexes: list[IndexModel], **command: Any) -> list[str]:
        """`command`: options of the createIndexes command itself (`commitQuorum`), which only a replica set uses."""
        return list(await self._run("create_indexes", indexes))

    async def drop_index(self, name: str) -> None:
        await self._run("drop_index", name)

    async def index_information(self) -> dict[str, Any]:
        return dict(await self._run("index_information"))

    async def list_indexes(self) -> MemoryCursor:
        """A coroutine returning a cursor, as PyMongo's `AsyncCollection.list_indexes`."""
        return MemoryCursor(iter(await self._run("list_indexes")), self._suspend)


class MemoryCursor:
    def __init__(self, cursor: Any, suspend: bool) -> None:
        self._cursor = cursor
        self._suspend = suspend

    def sort(self, keys: list[tuple[str, int]]) -> MemoryCursor:
        self._cursor.sort(keys)
        return self

    def limit(self, count: int) -> MemoryCursor:
        self._cursor.limit(count)
        return self

    async def to_list(self, length: int | None = None) -> list[dict[str, Any]]:
        documents = await _call(self._suspend, lambda: list(self._cursor))
        return documents if length is None else documents[:length]

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        for document in await self.to_list():
            yield document


async def _call(suspend: bool, work: Callable[[], T]) -> T:
    """Run `work` at one instant, as the server applies a command; with `suspend`, others run before and after."""
    if suspend:
        await asyncio.sleep(0)
    result = work()
    if suspend:
        await asyncio.sleep(0)
    return result
