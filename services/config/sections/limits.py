"""Abuse protection settings: quotas per client IP, failed logins per account, and whose forwarded address counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.networks import parse_networks
from services.config.setting import check, setting
from services.config.values import ConfigError, Rate


@dataclass(frozen=True)
class LimitSettings:
    """Quotas per client network (an IPv4 address, an IPv6 /64) and failed logins per account. A rate is written
    requests/seconds (`30/300`) or with a unit (`30/5m`, `5/1h`)."""

    TITLE: ClassVar[str] = "Rate limits"
    PAGES: ClassVar[tuple[str, ...]] = ("operations.md",)

    trusted_proxies: tuple[str, ...] = setting((), "Proxies (addresses or networks) whose `X-Forwarded-For` names "
                                               "the client, e.g. `[127.0.0.1, 10.0.0.0/8]`.")
    rate_limit_signup: Rate = setting(Rate(30, 300), "Sign-ups per client network.")
    rate_limit_token: Rate = setting(Rate(150, 300), "Logins, refreshes and token revocations "
                                     "(`POST /oauth/revoke`) per client network.")
    rate_limit_login_failures: Rate = setting(Rate(10, 900), "Failed logins per account and client network before "
                                              "that network is locked out of the account, with growing back-off.")
    rate_limit_login_failures_account: Rate = setting(Rate(100, 900), "Failed logins per account from every network "
                                                      "together before the account is locked (NIST 800-63B "
                                                      "5.2.2: at most 100); keep it above "
                                                      "`RATE_LIMIT_LOGIN_FAILURES`.")
    login_lock_base_seconds: int = setting(30, "First lock, in seconds, once a failed-login count reaches its limit; "
                                           "doubles with each further failure, at most that count's window.")
    rate_limit_mail: Rate = setting(Rate(20, 3600), "Requests that send mail (forgot password, resend verification) "
                                    "per client network.")
    rate_limit_mail_address: Rate = setting(Rate(5, 3600), "Mails to one address, whether or not an account has it.")
    rate_limit_ipv6_prefix: int = setting(64, "IPv6 clients are counted per network of this prefix length, as one "
                                          "subscriber usually holds a whole /64 (IPv4: per address).")
    rate_limit_picture: Rate = setting(Rate(30, 3600), "Picture uploads per client network.")
    rate_limit_picture_user: Rate = setting(Rate(10, 3600), "Picture uploads per signed-in user.")

    def __post_init__(self) -> None:
        try:
            parse_networks(self.trusted_proxies)
        except ValueError as exc:
            raise ConfigError(f"setting TRUSTED_PROXIES {exc}") from None
        check(self.login_lock_base_seconds >= 1, "LOGIN_LOCK_BASE_SECONDS", "must be at least 1")
        check(8 <= self.rate_limit_ipv6_prefix <= 128, "RATE_LIMIT_IPV6_PREFIX", "must be between 8 and 128")
