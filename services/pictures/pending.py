"""A journal of stored objects that may have no user pointing at them, so that none is left behind.

A picture's key is written here before the object is uploaded (and an old picture's key before it is
replaced or deleted), and cleared once the user record and the store agree again. Whatever a failure or
a crash leaves in between stays in the journal, and the sweeper (services/pictures.py) deletes every
journalled object that no user references once it is older than a grace period.
"""

from __future__ import annotations

import time
from typing import Any

from services.infra import Index, IndexBuild, MongoStore, mongo_guarded

INDEXES = (Index((("since", 1),), "since"),)


class PendingObjects(MongoStore):
    def __init__(self, database: Any, indexes: IndexBuild, collection: str = "pending_objects") -> None:
        super().__init__(database)
        self._pending = database[collection]
        indexes.declare(self._pending, *INDEXES)

    @mongo_guarded
    async def add(self, *keys: str) -> None:
        """Journal `keys`; an entry already there keeps its first time, so retries do not postpone its sweep."""
        now = time.time()
        for key in keys:
            await self._pending.update_one({"_id": str(key)}, {"$setOnInsert": {"since": now}}, upsert=True)

    @mongo_guarded
    async def clear(self, *keys: str) -> None:
        if keys:
            await self._pending.delete_many({"_id": {"$in": [str(key) for key in keys]}})

    @mongo_guarded
    async def due(self, older_than_seconds: float, limit: int = 500) -> list[str]:
        """Keys journalled at least `older_than_seconds` ago: their upload or deletion has long finished or died."""
        cursor = self._pending.find({"since": {"$lte": time.time() - older_than_seconds}}).limit(limit)
        return await _keys(cursor)


async def _keys(cursor: Any) -> list[str]:
    return [doc["_id"] async for doc in cursor]
