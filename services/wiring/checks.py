"""The outside checks' parts: the CAPTCHA provider and the breached-password service, each over its own HTTP client
with its own timeout (the root orders the builders; the limits and accounts builders use these)."""

from __future__ import annotations

from dataclasses import dataclass

from services.breach import BreachCheck, NoBreachCheck, PwnedPasswords
from services.captcha import Captcha, NoCaptcha, SiteVerify
from services.config import Config
from services.social import ProviderHttp


@dataclass(frozen=True)
class Checks:
    captcha: Captcha
    breaches: BreachCheck
    clients: tuple[ProviderHttp, ...]

    def close(self) -> None:
        for client in self.clients:
            client.close()


def build_checks(*, config: Config) -> Checks:
    clients: list[ProviderHttp] = []
    captcha: Captcha = NoCaptcha()
    if config.captcha_provider != "none":
        http = ProviderHttp(timeout=config.captcha_timeout_seconds, service="CAPTCHA provider")
        clients.append(http)
        captcha = SiteVerify(provider=config.captcha_provider, secret=config.captcha_secret,
                             url=config.captcha_siteverify_url, http=http)
    breaches: BreachCheck = NoBreachCheck()
    if config.password_breach_check == "hibp":  # noqa: S105 (a setting's value, not a password)
        http = ProviderHttp(timeout=config.password_breach_timeout_seconds, service="breached-password service")
        clients.append(http)
        breaches = PwnedPasswords(url=config.password_breach_url, http=http,
                                  fail_open=config.password_breach_fail_open)
    return Checks(captcha=captcha, breaches=breaches, clients=tuple(clients))
