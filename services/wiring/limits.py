"""The limits domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.captcha import Captcha, CaptchaLockChallenge
from services.config import Config, parse_networks
from services.limits import (
    ClientAddressResolver,
    LockChallenge,
    LoginFailures,
    RateLimiter,
    RefuseLockedLogins,
    Throttle,
)
from services.operations import Observer


@dataclass(frozen=True)
class Limits:
    throttle: Throttle
    client_addresses: ClientAddressResolver
    # What a locked login may do instead of being refused: solve a CAPTCHA when a provider is on, else wait.
    lock_challenge: LockChallenge


def build_limits(*, config: Config, redis: Any, observer: Observer, captcha: Captcha | None = None) -> Limits:
    failures = LoginFailures(redis, per_network=config.rate_limit_login_failures,
                             per_account=config.rate_limit_login_failures_account,
                             base_lock_seconds=config.login_lock_base_seconds)
    return Limits(throttle=Throttle(limiter=RateLimiter(redis=redis), failures=failures, config=config,
                                    observer=observer),
                  client_addresses=ClientAddressResolver(trusted_proxies=parse_networks(config.trusted_proxies)),
                  lock_challenge=CaptchaLockChallenge(captcha) if captcha and captcha.enabled
                  else RefuseLockedLogins())
