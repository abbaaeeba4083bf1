"""The users domain's store, with its versions in Redis and this process's copies (the root orders the builders)."""

from __future__ import annotations

import math
from typing import Any

from services.config import Config
from services.infra import IndexBuild
from services.users import SignupGate, UserCache, UserStore, UserVersions


def build_users(*, config: Config, database: Any, redis: Any, indexes: IndexBuild,
                gate: SignupGate | None = None) -> UserStore:
    # An idle user's version may expire like the cached epoch does: a missing one costs one MongoDB read. A pending
    # mark outlasts any one write (MONGO_TIMEOUT_SECONDS bounds it), and a crashed writer's expires soon after.
    versions = UserVersions(redis=redis, ttl_seconds=config.jwt_refresh_token_lifetime,
                            pending_seconds=max(60, math.ceil(4 * config.mongo_timeout_seconds)))
    cache = UserCache(size=config.user_cache_size, max_age=config.user_cache_seconds)
    return UserStore(database=database, indexes=indexes, versions=versions, cache=cache, gate=gate)
