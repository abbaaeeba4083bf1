"""One rule for every MongoDB call: a database that cannot answer is a 503 (fail closed), never a 500.

Three failures qualify:
- MongoDB cannot be reached, or stopped answering (`ConnectionFailure`: no server found, refused, a reply that
  never came within MONGO_TIMEOUT_SECONDS);
- the operation ran out of its time on the server (`ExecutionTimeout`, MaxTimeMSExpired: the driver sends what is
  left of the timeoutMS budget as `maxTimeMS`), or any other error the driver marks as a timeout;
- a write the primary took but whose write concern was not met in time (`WriteConcernError`, `WTimeoutError` among
  them, or the primary stepped down mid-write).

The last kind, and a network error after a write was sent, are not undone by MongoDB: the write may stay, or be
rolled back after a failover. So the client is told to retry, never that it failed for good, and every flow is
written so that the retry finishes the job (docs/deployment.md, "Writes that land but report a failure").

Stores apply the rule to themselves (`@mongo_guarded` on each method), so no caller wraps a store call. The
same decorator holds the call to MONGO_TIMEOUT_SECONDS as a whole: PyMongo checks its own `timeoutMS` while it waits
for a server only every 0.5 s (`common.MIN_HEARTBEAT_INTERVAL`, asynchronous/topology.py), so a refused MongoDB
answered up to 0.5 s past the bound, and past 1.5 times it once the machine was busy (measured: 30 concurrent
logins, 2.05-2.13 s quiet, 2.3-2.7 s under load, 3.07 s once in CI).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Concatenate, ParamSpec, TypeVar

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError, WriteConcernError

from services.outcomes import ServiceUnavailable

log = logging.getLogger("auth.mongo")
P = ParamSpec("P")
T = TypeVar("T")
S = TypeVar("S", bound="MongoStore")


class MongoCallTimeout(PyMongoError):
    """A store call that outlived its deadline; says what the driver last saw of each server (`Errno 111`...)."""

    @property
    def timeout(self) -> bool:
        return True


class MongoStore:
    """A store on MongoDB collections: its `@mongo_guarded` calls end within its client's `timeoutMS`."""

    def __init__(self, database: Any) -> None:
        # None on the in-memory store, which never waits for a server.
        self._mongo_client = database.client if isinstance(database, AsyncDatabase) else None
        self._call_deadline: float | None = self._mongo_client.options.timeout if self._mongo_client else None

    def _call_timed_out(self, deadline: float) -> MongoCallTimeout:
        servers = self._mongo_client.topology_description.server_descriptions().values() if self._mongo_client else ()
        seen = "; ".join(str(server.error) for server in servers if server.error)
        return MongoCallTimeout(f"no answer within {deadline:g} s" + (f": {seen}" if seen else ""))


def is_mongo_down(exc: BaseException) -> bool:
    """Whether `exc` means "MongoDB cannot answer now" (503), rather than a bug in our query (500)."""
    return isinstance(exc, ConnectionFailure | ExecutionTimeout | WriteConcernError) or (
        isinstance(exc, PyMongoError) and exc.timeout)


def _unavailable(exc: PyMongoError) -> ServiceUnavailable:
    if isinstance(exc, WriteConcernError):
        log.warning("MongoDB write concern not met (code %s): %s", exc.code, exc)
    elif isinstance(exc, ConnectionFailure):
        log.warning("MongoDB unreachable: %s", exc)
    else:
        log.warning("MongoDB timed out: %s", exc)
    return ServiceUnavailable()


def mongo_guarded(method: Callable[Concatenate[S, P], Awaitable[T]]) -> Callable[Concatenate[S, P], Awaitable[T]]:
    """A store method whose MongoDB outages surface as ServiceUnavailable, and which ends within the store's
    deadline: a call of one or a few operations, each of which PyMongo bounds by the same `timeoutMS`.

    A plain try/except rather than `mongo_outages()`: this wraps the user read of every request that misses the
    user cache."""

    @functools.wraps(method)
    async def guarded(store: S, *args: P.args, **kwargs: P.kwargs) -> T:
        deadline = store._call_deadline
        try:
            if deadline is None:
                return await method(store, *args, **kwargs)
            async with asyncio.timeout(deadline) as bound:
                return await method(store, *args, **kwargs)
        except PyMongoError as exc:
            if not is_mongo_down(exc):
                raise
            raise _unavailable(exc) from exc
        except TimeoutError as exc:
            if deadline is None or not bound.expired():  # not ours to answer for
                raise
            late = store._call_timed_out(deadline)
            late.__cause__ = exc
            raise _unavailable(late) from late

    return guarded


def mongo_guarded_bulk(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A store method that reads or writes many documents (a backfill, every factor of every user): outages are
    ServiceUnavailable as above, and only each of its operations is bounded, by PyMongo."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        with mongo_outages():
            return await method(*args, **kwargs)

    return guarded


@contextmanager
def mongo_outages() -> Iterator[None]:
    """The same rule around a block: a cursor being iterated, for one."""
    try:
        yield
    except PyMongoError as exc:
        if not is_mongo_down(exc):
            raise
        raise _unavailable(exc) from exc
