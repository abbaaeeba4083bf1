"""One rule for every MongoDB call: a database that cannot answer is a 503 with Retry-After (fail closed), never a 500.

Two failures qualify: MongoDB cannot be reached (`ConnectionFailure`), and a write the primary took but whose
write concern was not met in time (`WriteConcernError`, `WTimeoutError` among them: MONGO_WRITE_TIMEOUT_SECONDS
ran out, or the primary stepped down mid-write). The second kind is not undone by MongoDB: the write may stay,
or be rolled back after a failover, so the client is told to retry, never that it failed for good.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from pymongo.errors import ConnectionFailure, WriteConcernError

from services.errors import ServiceUnavailable

log = logging.getLogger("auth.mongo")
T = TypeVar("T")


async def mongo_guarded(operation: Awaitable[T], retry_after: int) -> T:
    try:
        return await operation
    except ConnectionFailure as exc:
        log.warning("MongoDB unreachable: %s", exc)
        raise ServiceUnavailable(retry_after) from exc
    except WriteConcernError as exc:
        log.warning("MongoDB write concern not met (code %s): %s", exc.code, exc)
        raise ServiceUnavailable(retry_after) from exc
