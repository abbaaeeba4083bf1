"""Liveness: whether this server can still recover by itself, for an orchestrator's probe (`GET /healthz`).

Almost nothing makes a running server unable to recover: a database outage does not (restarting would not bring
it back, and requests answer 503 until it is). What does is a part the server itself runs and can no longer
bring back, such as the embedded redis-server that keeps dying at start: then `/healthz` fails, so Kubernetes or
any orchestrator restarts the whole server. The verdict lives in memory shared with the worker processes forked
after it is made, because the supervisor process, not a worker, runs the embedded Redis of `serve --processes N`.
"""

from __future__ import annotations

import mmap

_SIZE = 256


class Liveness:
    """One failed part at most (its name and state, e.g. `redis-server: gave-up`); none: alive."""

    def __init__(self) -> None:
        # Anonymous and MAP_SHARED (mmap's default): the same page in every process forked from this one.
        self._shared = mmap.mmap(-1, _SIZE)

    def fail(self, part: str, state: str) -> None:
        record = f"{part}\t{state}".encode()[: _SIZE - 1]
        self._shared.seek(0)
        self._shared.write(record.ljust(_SIZE, b"\0"))

    def recover(self) -> None:
        self._shared.seek(0)
        self._shared.write(bytes(_SIZE))

    def checks(self) -> dict[str, str]:
        """`{part: state}` of the failed part, or `{}` while alive."""
        record = self._shared[:_SIZE].rstrip(b"\0").decode(errors="replace")
        part, _, state = record.partition("\t")
        return {part: state} if part else {}
