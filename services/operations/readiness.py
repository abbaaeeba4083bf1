"""Readiness: whether this process should be sent traffic, for a load balancer's probe (`GET /readyz`).

Ready means Redis takes a write (PING alone passes while Redis refuses every write: out of memory, a full disk,
a replica since a failover), MongoDB answers `ping` and has the indexes this version needs (a server that
started while MongoDB was down makes them once it answers: services/infra/index_build.py), a signing key is
loaded, and the server is not draining. Each check has a short timeout and they run at the same time, so a
probe never waits long.
Liveness (`GET /healthz`) checks nothing: a process that answers HTTP is alive, and restarting it would not
bring a database back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from services.infra import is_refusing_writes, probe_writes

log = logging.getLogger("auth.readiness")

OK = "ok"
UNAVAILABLE = "unavailable"
INDEXES_PENDING = "indexes-pending"
REFUSING_WRITES = "refusing-writes"
NO_SIGNING_KEY = "no-signing-key"
DRAINING = "draining"


class Readiness:
    def __init__(self, redis: Any, database: Any, indexes: Any, keyring: Any, timeout: float) -> None:
        self._redis = redis
        self._database = database
        self._indexes = indexes
        self._keyring = keyring
        self._timeout = timeout
        self._draining = False

    def start_draining(self) -> None:
        """Shutdown has begun: answer not-ready from now on, so the load balancer stops sending new requests
        while the ones in flight finish. There is no way back: a draining process is about to exit."""
        self._draining = True

    @property
    def draining(self) -> bool:
        return self._draining

    async def checks(self) -> dict[str, str]:
        """Each dependency's state (`ok` or what is wrong), plus `draining` while shutting down."""
        redis, mongo = await asyncio.gather(self._probe("redis", probe_writes(self._redis)), self._mongo())
        checks = {"redis": redis, "mongo": mongo, "keys": OK if self._keyring.signing_key else NO_SIGNING_KEY}
        if self._draining:
            checks["draining"] = DRAINING
        return checks

    async def _mongo(self) -> str:
        state = await self._probe("mongo", self._database.command("ping"))
        # Reachable again but without its indexes yet: make them now, rather than at the background's next try.
        if state == OK and not self._indexes.built and await self._probe("indexes", self._indexes.required()) != OK:
            return INDEXES_PENDING
        return state

    async def _probe(self, name: str, call: Awaitable[Any]) -> str:
        try:
            await asyncio.wait_for(call, self._timeout)
        except Exception as exc:  # whatever the failure, the answer is "not ready"
            state = REFUSING_WRITES if is_refusing_writes(exc) else UNAVAILABLE
            log.warning("readiness: %s is %s: %s", name, state, exc or type(exc).__name__)
            return state
        return OK


def all_ok(checks: dict[str, str]) -> bool:
    return all(state == OK for state in checks.values())
