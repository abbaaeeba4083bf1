"""What every command shares: which Redis the servers use, how to say that a store did not answer, and running a
command on built services that are closed afterwards."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

from services.config import Config, ConfigError
from services.infra import embedded_redis, is_mongo_down, mongo_database, mongo_hosts, redis_address, redis_client
from services.outcomes import AuthError, ServiceUnavailable
from services.wiring import Services, build_services


def redis_url(config: Config) -> str | None:
    """The Redis the servers use: REDIS_URL, or the embedded server's socket while it runs (None: neither)."""
    if not config.embedded_redis:
        return config.redis_url
    embedded = embedded_redis(config)
    return embedded.url if embedded.socket_path.exists() else None


def unreachable(config: Config, url: str | None, exc: ServiceUnavailable) -> str:
    """Which server a command could not reach, where it is (never its credentials), and what the driver saw."""
    cause = exc.__cause__
    if cause is not None and is_mongo_down(cause):
        seen = str(cause).split(" (configured timeouts", 1)[0]
        return (f"MongoDB at {mongo_hosts(config.mongo_url)} (MONGO_URL) did not answer within "
                f"{config.mongo_timeout_seconds:g} s (MONGO_TIMEOUT_SECONDS): {seen}")
    where = redis_address(url or "") or "the embedded Redis"
    return (f"Redis at {where} (REDIS_URL) did not answer within {config.redis_timeout_seconds:g} s "
            f"(REDIS_TIMEOUT_SECONDS): {cause or exc.message}")


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


async def with_services(config: Config, url: str, work: Callable[[Services], Awaitable[int]]) -> int:
    """Build the services on the servers' stores, run `work`, queue the webhook events it caused, close them."""
    services = build_services(config, mongo_database(config), redis_client(url, config.redis_timeout_seconds))
    try:
        code = await work(services)
        await services.webhooks.publisher.flush()
        return code
    except ServiceUnavailable as exc:
        return fail(unreachable(config, url, exc))
    except AuthError as exc:
        return fail(exc.message)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        await services.pictures.storage.close()
        services.hooks.poster.close()
        await services.redis.aclose()
        await services.database.client.close()
