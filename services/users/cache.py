"""The per-process copies of user documents behind every authenticated request.

Each copy is kept with the version (services/users/versions.py) read before the document was, and served only
while Redis still holds that version: checked in the request's one MGET, so a hit costs no MongoDB read and no
extra round trip (on the embedded in-memory store a read walks every stored document: ≈ 110 ms per request at
100,000 users, bench/README.md). `max_age` bounds how long a copy is served at all: a change made in MongoDB
directly, not through this server or its CLI, bumps no version and is seen after at most that long.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from services.users.models import User


class UserCache:
    """At most `size` users, the oldest copy dropped first; `size` 0 keeps none."""

    def __init__(self, size: int, max_age: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._max_age = max_age
        self._clock = clock
        self._entries: dict[str, tuple[str, User, float]] = {}

    def get(self, uid: str, version: str | None) -> User | None:
        """The copy of `uid` read under `version`, if it is still young enough."""
        entry = self._entries.get(uid)
        if entry is None or entry[0] != version or entry[2] <= self._clock():
            return None
        return entry[1]

    def put(self, uid: str, version: str, user: User) -> None:
        if self._size <= 0 or self._max_age <= 0:
            return
        self._entries.pop(uid, None)  # re-inserted at the end: a fresh copy is the last to go
        self._entries[uid] = (version, user, self._clock() + self._max_age)
        if len(self._entries) > self._size:
            del self._entries[next(iter(self._entries))]

    def drop(self, uid: str) -> None:
        self._entries.pop(uid, None)

    def __len__(self) -> int:
        return len(self._entries)
