"""Abuse protection settings: quotas per client IP, failed logins per account, and whose forwarded address counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.networks import parse_networks
from services.config.setting import check, setting
from services.config.values import ConfigError, Rate


@dataclass(frozen=True)
class LimitSettings:
    """Quotas per client IP and failed logins per account. A rate is written requests/seconds (`30/300`) or with
    a unit (`30/5m`, `5/1h`)."""

    TITLE: ClassVar[str] = "Rate limits"
    PAGES: ClassVar[tuple[str, ...]] = ("operations.md",)

    trusted_proxies: tuple[str, ...] = setting((), "Proxies (addresses or networks) whose `X-Forwarded-For` names "
                                               "the client, e.g. `[127.0.0.1, 10.0.0.0/8]`.")
    rate_limit_signup: Rate = setting(Rate(30, 300), "Sign-ups per client IP.")
    rate_limit_token: Rate = setting(Rate(150, 300), "Logins, refreshes and token revocations "
                                   "(`POST /oauth/revoke`) per client IP.")
    rate_limit_login_failures: Rate = setting(Rate(10, 900), "Failed logins per account before it is locked, with "
                                              "growing back-off.")
    login_lock_base_seconds: int = setting(30, "First lock of an account, in seconds; doubles with each further "
                                           "failure, at most the window of `RATE_LIMIT_LOGIN_FAILURES`.")
    rate_limit_mail: Rate = setting(Rate(20, 3600), "Requests that send mail (forgot password, resend verification) "
                                    "per client IP.")
    rate_limit_mail_address: Rate = setting(Rate(5, 3600), "Mails to one address, whether or not an account has it.")

    def __post_init__(self) -> None:
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"setting TRUSTED_PROXIES {exc}") from None
        check(self.login_lock_base_seconds >= 1, "LOGIN_LOCK_BASE_SECONDS", "must be at least 1")
