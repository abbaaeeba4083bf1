"""The limits domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config, parse_networks
from services.limits import ClientAddressResolver, RateLimiter, Throttle
from services.operations import Observer


@dataclass(frozen=True)
class Limits:
    throttle: Throttle
    client_addresses: ClientAddressResolver


def build_limits(*, config: Config, redis: Any, observer: Observer) -> Limits:
    return Limits(throttle=Throttle(limiter=RateLimiter(redis=redis), config=config, observer=observer),
                  client_addresses=ClientAddressResolver(trusted_proxies=parse_networks(config.trusted_proxies)))
