"""The indexes every store declares, built once per process: at start, or in the background until MongoDB answers.

A MongoDB that is down at start is no reason not to start (as with Redis): requests that need it answer 503,
`/readyz` says `mongo` is not ready, and the build is retried, at growing intervals, until it succeeds. Until then
a write that relies on a unique index (a sign-up, an email change, linking an identity) tries the build itself
first and answers 503 if it still cannot: two sign-ups of one address must never both land in a collection that
has no unique index yet, or the build would then stop on their duplicates for good.

What the operator must settle (an index that differs, duplicates, MongoDB refusing us) stops the start with exit
code 2; found later, in the background, it stops the running server the same way (`on_fatal`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo.errors import OperationFailure

from services.infra.mongo_guard import mongo_outages
from services.infra.mongo_indexes import Index, IndexBuildFailed, ensure_index
from services.outcomes import ServiceUnavailable

log = logging.getLogger("auth.mongo")
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0


class IndexBuild:
    def __init__(self, *, database: Any, timeout: float, where: str) -> None:
        self._database = database
        self._timeout = timeout
        self._where = where  # MongoDB's hosts, for messages (services/infra/backends.mongo_hosts)
        self._declared: list[tuple[Any, Index]] = []
        self._then: list[Callable[[], Awaitable[None]]] = []
        self._built = False
        self._attempt: asyncio.Task[None] | None = None
        self._retrying: asyncio.Task[None] | None = None
        self._on_fatal: Callable[[IndexBuildFailed], None] | None = None

    def declare(self, collection: Any, *indexes: Index, then: Callable[[], Awaitable[None]] | None = None) -> None:
        """A store's indexes, declared when it is built (no I/O); built by `start`. `then` runs once they stand, in
        the same attempt (a backfill the indexes make safe: an idempotent one, as every attempt runs it)."""
        self._declared += [(collection, index) for index in indexes]
        if then is not None:
            self._then.append(then)

    @property
    def built(self) -> bool:
        return self._built

    async def start(self, on_fatal: Callable[[IndexBuildFailed], None] | None = None) -> None:
        """One attempt now. IndexBuildFailed stops the start; an unreachable MongoDB leaves it to the background."""
        try:
            await self._shared_attempt()
        except ServiceUnavailable:
            log.warning("MongoDB at %s cannot be reached: serving without it (503 for what needs it); its indexes "
                        "are made once it answers", self._where)
            self._retrying = asyncio.get_running_loop().create_task(self._retry())
        self._on_fatal = on_fatal

    async def required(self) -> None:
        """Before a write that relies on a unique index: at once when built; else one bounded attempt, or 503."""
        if self._built:
            return
        try:
            await asyncio.wait_for(self._shared_attempt(), self._timeout)
        except (TimeoutError, IndexBuildFailed) as exc:
            raise ServiceUnavailable() from exc

    async def stop(self) -> None:
        for task in (self._retrying, self._attempt):
            if task is not None and not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _retry(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while not self._built:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)
            try:
                await self._shared_attempt()
            except ServiceUnavailable:
                log.info("MongoDB at %s still cannot be reached; next index attempt in %g s", self._where, delay)
            except IndexBuildFailed:
                return  # `_build` told on_fatal
        log.info("MongoDB at %s answers again: indexes are in place", self._where)

    async def _shared_attempt(self) -> None:
        """Every caller waiting at one time (start, readiness, sign-ups, the retries) shares one attempt."""
        if self._attempt is None or self._attempt.done():
            self._attempt = asyncio.get_running_loop().create_task(self._build())
            # Read its outcome even when every waiter gave up (a timed-out request): no "never retrieved" noise.
            self._attempt.add_done_callback(lambda task: task.cancelled() or task.exception())
        await asyncio.shield(self._attempt)

    async def _build(self) -> None:
        try:
            with mongo_outages():
                hello = await self._database.command("hello")
                # A replica set member names its set; mongos says isdbgrid: both take a commit quorum.
                replicated = "setName" in hello or hello.get("msg") == "isdbgrid"
                for collection, index in self._declared:
                    await ensure_index(collection, index, replicated=replicated)
                for follow_up in self._then:
                    await follow_up()
        except IndexBuildFailed as exc:
            self._fail(exc)
            raise
        except OperationFailure as exc:  # not an outage: MongoDB refused us (credentials, rights)
            failure = IndexBuildFailed(f"MongoDB at {self._where} refused to create the indexes: "
                                       f"{(exc.details and exc.details.get('errmsg')) or exc} (code {exc.code})")
            self._fail(failure)
            raise failure from exc
        self._built = True

    def _fail(self, exc: IndexBuildFailed) -> None:
        if self._on_fatal is not None:
            log.critical("configuration error: %s", exc)
            self._on_fatal(exc)
