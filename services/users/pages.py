"""Pages of users for the admin API: keyset pagination over (created_at, _id), the order the `created_at_id` index
keeps.

A cursor names the last user of the page before (its creation time and uid), never an offset: a user created
while an admin pages through gets a later `created_at` and lands after every page already read, and a deletion
shifts nothing, so no user is seen twice or skipped (offsets do both under inserts). The cursor is opaque to
clients (base64url of JSON) and checked on the way in: a forged one can only name a position, never an operator.

Filters: `email` is one exact address (the unique index serves it); `query` is the start of an address or of a
name. An address prefix is an anchored, case-sensitive regular expression over lower-case addresses, which
MongoDB serves from the `email` index; a name prefix is matched case-insensitively, which no index can serve,
so a rare name costs a scan in (created_at, _id) order until the page is full, bounded by the collection.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from services.outcomes import INVALID_CURSOR, AuthError

MAX_QUERY_LENGTH = 254


@dataclass(frozen=True)
class Position:
    created_at: int
    uid: str

    def cursor(self) -> str:
        raw = json.dumps([self.created_at, self.uid], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def from_cursor(cls, cursor: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            created_at, uid = json.loads(raw)
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise AuthError(INVALID_CURSOR) from None
        if type(created_at) is not int or not isinstance(uid, str) or not 0 < len(uid) <= 64:
            raise AuthError(INVALID_CURSOR)
        return cls(created_at, uid)


@dataclass(frozen=True)
class PageRequest:
    limit: int
    after: Position | None = None
    email: str | None = None  # normalized
    query: str | None = None


def page_filter(request: PageRequest) -> dict[str, Any]:
    """The MongoDB filter of one page: typed values and operators only, the query's text escaped."""
    clauses: list[dict[str, Any]] = []
    if request.after is not None:
        at, uid = int(request.after.created_at), str(request.after.uid)
        clauses.append({"$or": [{"created_at": {"$gt": at}}, {"created_at": at, "_id": {"$gt": uid}}]})
    if request.email is not None:
        clauses.append({"email": str(request.email)})
    if request.query:
        text = str(request.query)[:MAX_QUERY_LENGTH]
        clauses.append({"$or": [{"email": {"$regex": "^" + re.escape(text.lower())}},
                                {"name": {"$regex": "^" + re.escape(text), "$options": "i"}}]})
    if not clauses:
        return {}
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
