"""One index a store needs, made sure of at every start by every process: the same index again changes nothing.

An index is found by its key pattern, whatever its name: one an operator made by hand (`email_1`) with the options
this version needs is used as it is. One whose options differ (not unique, partial, another collation), or our name
on other keys, is not replaced behind the operator's back: rebuilding a unique index on a live database can fail
half-way or lock writes, so the server refuses to start and names the index that is really there. So it does when
the documents already break a unique index (two users with one address): the operator must settle them first.

On a replica set the build commits once a majority of the voting members are ready (`commitQuorum: "majority"`),
not all of them as MongoDB's default would wait for: a first start while one member is down builds its indexes
instead of hanging until that member is back. Each build is bounded in time too (`BUILD_TIMEOUT_SECONDS`); one that
runs longer is retried (services/infra/index_build.py), and MongoDB joins the build already under way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo import IndexModel
from pymongo.errors import DuplicateKeyError, OperationFailure

# MongoDB's IndexOptionsConflict and IndexKeySpecsConflict: another process made a different index at the same time.
_CONFLICT_CODES = {85, 86}
# Options that change what an index enforces or holds; its name, version and hidden flag do not.
_SIGNIFICANT = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds", "collation")
BUILD_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Index:
    keys: tuple[tuple[str, int], ...]
    name: str
    unique: bool = False
    sparse: bool = False

    @property
    def options(self) -> dict[str, Any]:
        return {option: True for option in ("unique", "sparse") if getattr(self, option)}

    def describe(self) -> str:
        keys = ", ".join(f"{key}: {order}" for key, order in self.keys)
        return "{" + keys + "}" + "".join(f" {option}" for option in self.options)


class IndexBuildFailed(RuntimeError):
    """The indexes cannot be made as this version needs them; the message says what to do (exit code 2)."""


class IndexConflict(IndexBuildFailed):
    """An existing index differs from the one this version needs."""


class DuplicateValues(IndexBuildFailed):
    """Stored documents already share a value that a unique index must keep unique."""


async def ensure_index(collection: Any, index: Index, *, replicated: bool) -> None:
    existing = [doc async for doc in await collection.list_indexes()]
    same_keys = next((doc for doc in existing if _keys(doc) == index.keys), None)
    if same_keys is not None:
        if _significant(same_keys) != index.options:
            raise IndexConflict(_conflict(collection.name, same_keys, index))
        return  # there already, under whatever name
    same_name = next((doc for doc in existing if doc["name"] == index.name), None)
    if same_name is not None:
        raise IndexConflict(_conflict(collection.name, same_name, index))
    # commitQuorum belongs to the createIndexes command, not to the index: `create_index(**options)` would put it
    # in the index's specification, which MongoDB refuses.
    quorum = {"commitQuorum": "majority"} if replicated else {}
    model = IndexModel(list(index.keys), name=index.name, **index.options)
    try:
        with pymongo.timeout(BUILD_TIMEOUT_SECONDS):
            await collection.create_indexes([model], **quorum)
    except DuplicateKeyError:
        raise DuplicateValues(_duplicates(collection.name, index)) from None  # its message holds a stored value
    except OperationFailure as exc:
        if exc.code in _CONFLICT_CODES:
            raise IndexConflict(f"MongoDB index {collection.name}.{index.name} {index.describe()} could not be "
                                f"made: {(exc.details and exc.details.get('errmsg')) or exc}. See which indexes "
                                f"there are with db.{collection.name}.getIndexes()") from exc
        raise


def _keys(doc: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A stored key pattern in our form: MongoDB may hand back 1 as 1.0."""
    return tuple((key, int(order) if isinstance(order, int | float) else order) for key, order in doc["key"].items())


def _significant(doc: dict[str, Any]) -> dict[str, Any]:
    return {option: doc[option] for option in _SIGNIFICANT if doc.get(option) not in (None, False)}


def _conflict(collection: str, found: dict[str, Any], needed: Index) -> str:
    keys = ", ".join(f"{key}: {order}" for key, order in _keys(found))
    options = ", ".join(f"{option}={value!r}" for option, value in _significant(found).items()) or "no options"
    return (f"MongoDB index {collection}.{found['name']} ({{{keys}}}, {options}) is not the index this version "
            f"needs: {collection}.{needed.name} {needed.describe()}. Drop it with "
            f"db.{collection}.dropIndex(\"{found['name']}\") and start again; the server creates the one it needs.")


def _duplicates(collection: str, index: Index) -> str:
    fields = [key for key, _ in index.keys]
    group = ", ".join(f'{key}: "${key}"' for key in fields)
    return (f"MongoDB cannot build the unique index {collection}.{index.name} {index.describe()}: some documents "
            f"share a value of {', '.join(fields)}. List them with db.{collection}.aggregate([{{$group: {{_id: "
            f"{{{group}}}, count: {{$sum: 1}}}}}}, {{$match: {{count: {{$gt: 1}}}}}}]), settle them (merge or "
            "delete the extra documents) and start again.")
