"""CAPTCHA settings: the provider whose siteverify endpoint checks a solved challenge, and where one is asked for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.setting import check, is_http_url, setting

CAPTCHA_PROVIDERS = ("none", "turnstile", "hcaptcha")
CAPTCHA_LOGIN_RULES = ("always", "after-failures")
SITEVERIFY_URLS = {"turnstile": "https://challenges.cloudflare.com/turnstile/v0/siteverify",
                   "hcaptcha": "https://api.hcaptcha.com/siteverify"}


@dataclass(frozen=True)
class CaptchaSettings:
    """With a provider on, `captcha_token` (the token the provider's widget gave the client) is required in the JSON
    of `POST /signup`, `/signup/anonymous`, `/otp` and `/password/forgot`, and of `/login` as `CAPTCHA_LOGIN` says;
    missing or refused: 400 `auth/captcha-failed`."""

    TITLE: ClassVar[str] = "CAPTCHA"
    PAGES: ClassVar[tuple[str, ...]] = ("passwordless.md",)

    captcha_provider: str = setting("none", "`none`, `turnstile` (Cloudflare) or `hcaptcha`.")
    captcha_secret: str = setting("", "The provider's secret key, needed when `CAPTCHA_PROVIDER` is not `none`.",
                                  secret=True)
    captcha_verify_url: str = setting("", "The provider's siteverify endpoint; empty: the provider's own "
                                      "(another address only for tests or a proxy).")
    captcha_timeout_seconds: float = setting(5.0, "A siteverify endpoint slower than this many seconds answers 503 "
                                             "`auth/unavailable`.")
    captcha_login: str = setting("after-failures", "`always`: every `POST /login` needs a solved CAPTCHA; "
                                 "`after-failures`: only once the account or the client network has failed "
                                 "`CAPTCHA_LOGIN_FAILURES` times, or the account is locked (then a solved CAPTCHA "
                                 "lets its owner try instead of waiting).")
    captcha_login_failures: int = setting(3, "Failed logins of an account, or from a client network, after which "
                                          "`/login` asks for a CAPTCHA (`CAPTCHA_LOGIN: after-failures`).")

    def __post_init__(self) -> None:
        check(self.captcha_provider in CAPTCHA_PROVIDERS, "CAPTCHA_PROVIDER",
              f"must be one of {', '.join(CAPTCHA_PROVIDERS)}")
        check(self.captcha_login in CAPTCHA_LOGIN_RULES, "CAPTCHA_LOGIN",
              f"must be one of {', '.join(CAPTCHA_LOGIN_RULES)}")
        check(self.captcha_timeout_seconds > 0, "CAPTCHA_TIMEOUT_SECONDS", "must be positive")
        check(self.captcha_login_failures >= 1, "CAPTCHA_LOGIN_FAILURES", "must be at least 1")
        check(not self.captcha_verify_url or is_http_url(self.captcha_verify_url), "CAPTCHA_VERIFY_URL",
              "must be empty or an absolute http(s) URL")
        if self.captcha_provider != "none":
            check(bool(self.captcha_secret), "CAPTCHA_SECRET", "must be set when CAPTCHA_PROVIDER is not none")

    @property
    def captcha_siteverify_url(self) -> str:
        return self.captcha_verify_url or SITEVERIFY_URLS.get(self.captcha_provider, "")
