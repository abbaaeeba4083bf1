"""One rule for every MongoDB call: a database that cannot answer is a 503 (fail closed), never a 500.

Two failures qualify: MongoDB cannot be reached (`ConnectionFailure`), and a write the primary took but whose
write concern was not met in time (`WriteConcernError`, `WTimeoutError` among them: MONGO_WRITE_TIMEOUT_SECONDS
ran out, or the primary stepped down mid-write). The second kind is not undone by MongoDB: the write may stay,
or be rolled back after a failover, so the client is told to retry, never that it failed for good.

Stores apply the rule to themselves (`@mongo_guarded` on each method), so no caller wraps a store call.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from pymongo.errors import ConnectionFailure, WriteConcernError

from services.outcomes import ServiceUnavailable

log = logging.getLogger("auth.mongo")
P = ParamSpec("P")
T = TypeVar("T")


def _unavailable(exc: ConnectionFailure | WriteConcernError) -> ServiceUnavailable:
    if isinstance(exc, WriteConcernError):
        log.warning("MongoDB write concern not met (code %s): %s", exc.code, exc)
    else:
        log.warning("MongoDB unreachable: %s", exc)
    return ServiceUnavailable()


def mongo_guarded(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A store method whose MongoDB outages surface as ServiceUnavailable.

    A plain try/except rather than `mongo_outages()`: this wraps the user read of every authenticated request."""

    @functools.wraps(method)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (ConnectionFailure, WriteConcernError) as exc:
            raise _unavailable(exc) from exc

    return guarded


@contextmanager
def mongo_outages() -> Iterator[None]:
    """The same rule around a block: a cursor being iterated, for one."""
    try:
        yield
    except (ConnectionFailure, WriteConcernError) as exc:
        raise _unavailable(exc) from exc
