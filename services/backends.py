"""Clients for MongoDB and Redis, built from the config: real servers from URLs, or the embedded default."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.config import Config
from services.embedded_redis import EmbeddedRedis


def mongo_database(config: Config) -> Any:
    """Motor against `MONGO_URL`; without one, mongomock-motor in memory (same API, same queries)."""
    if config.embedded_mongo:
        from mongomock_motor import AsyncMongoMockClient

        return AsyncMongoMockClient()[config.mongo_database]
    from motor.motor_asyncio import AsyncIOMotorClient

    timeout_ms = int(config.redis_timeout_seconds * 1000) * 5
    # Reads stay on the primary unless MONGO_READ_PREFERENCE says otherwise (README "Deployment": a user who just
    # signed up must be found by the login that follows); an empty MONGO_WRITE_CONCERN keeps MONGO_URL's `w=`.
    replication: dict[str, Any] = {"readPreference": config.mongo_read_preference}
    if config.mongo_write_concern:
        concern = config.mongo_write_concern
        replication["w"] = int(concern) if concern.isdigit() else concern
    client = AsyncIOMotorClient(config.mongo_url, serverSelectionTimeoutMS=timeout_ms, uuidRepresentation="standard",
                                **replication)
    return client.get_default_database(config.mongo_database)


def redis_client(url: str, timeout: float) -> aioredis.Redis:
    """Short timeouts and one reconnect attempt: a dead Redis answers 503 quickly, a restarted one just works."""
    return aioredis.Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=30,
        retry=Retry(NoBackoff(), retries=1), retry_on_error=[RedisConnectionError, RedisTimeoutError],
        decode_responses=True,
    )


def embedded_redis(config: Config) -> EmbeddedRedis:
    return EmbeddedRedis(Path(config.data_dir) / "redis")
