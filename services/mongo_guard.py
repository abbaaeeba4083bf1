"""One rule for every MongoDB call: an unreachable database is a 503 with Retry-After (fail closed), never a 500."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from pymongo.errors import ConnectionFailure

from services.errors import ServiceUnavailable

log = logging.getLogger("auth.mongo")
T = TypeVar("T")


async def mongo_guarded(operation: Awaitable[T], retry_after: int) -> T:
    try:
        return await operation
    except ConnectionFailure as exc:
        log.warning("MongoDB unreachable: %s", exc)
        raise ServiceUnavailable(retry_after) from exc
