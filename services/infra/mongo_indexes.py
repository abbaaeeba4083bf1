"""Indexes are created at every start, by every process: the same index again is a no-op in MongoDB.

An index of the same name whose keys or options changed (a new version tightening an index) is not
replaced behind the operator's back: rebuilding a unique index on a live database can fail half-way or
lock writes, so the server refuses to start and says which index to drop.
"""

from __future__ import annotations

from typing import Any

from pymongo.errors import OperationFailure

# MongoDB's IndexOptionsConflict and IndexKeySpecsConflict.
_CONFLICT_CODES = {85, 86}


class IndexConflict(RuntimeError):
    """An existing index differs from the one this version needs; the message says how to fix it."""


async def ensure_index(collection: Any, keys: str | list[tuple[str, int]], *, name: str, **options: Any) -> None:
    try:
        await collection.create_index(keys, name=name, **options)
    except OperationFailure as exc:
        # mongomock reports the conflict without a code, in the words MongoDB itself used to use.
        if exc.code in _CONFLICT_CODES or (exc.code is None and "already exists" in str(exc)):
            wanted = ", ".join(f"{key}={value}" for key, value in options.items()) or "no options"
            raise IndexConflict(
                f"MongoDB index {collection.name}.{name} already exists with other keys or options than this "
                f"version needs (keys {keys!r}, {wanted}): {exc}. Drop it with "
                f"db.{collection.name}.dropIndex(\"{name}\") and start again; the server creates it anew."
            ) from exc
        raise
