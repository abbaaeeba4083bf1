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

Stores apply the rule to themselves (`@mongo_guarded` on each method), so no caller wraps a store call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from pymongo.errors import ConnectionFailure, ExecutionTimeout, PyMongoError, WriteConcernError

from services.outcomes import ServiceUnavailable

log = logging.getLogger("auth.mongo")
P = ParamSpec("P")
T = TypeVar("T")


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


def mongo_guarded(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A store method whose MongoDB outages surface as ServiceUnavailable.

    A plain try/except rather than `mongo_outages()`: this wraps the user read of every authenticated request."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except PyMongoError as exc:
            if not is_mongo_down(exc):
                raise
            raise _unavailable(exc) from exc

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
