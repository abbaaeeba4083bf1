"""The CAPTCHA settings: each provider's own siteverify endpoint unless one is set, and a bad setting named at
start-up (a provider without its secret would otherwise refuse every sign-up with a 503)."""

from __future__ import annotations

import pytest

from services.config import Config, ConfigError, load_config


def from_env(**environ: str) -> Config:
    return load_config(None, environ=environ)


@pytest.mark.parametrize(("provider", "url"), [
    ("turnstile", "https://challenges.cloudflare.com/turnstile/v0/siteverify"),
    ("hcaptcha", "https://api.hcaptcha.com/siteverify"),
])
def test_each_provider_is_checked_at_its_own_siteverify_endpoint(provider: str, url: str) -> None:
    assert from_env(CAPTCHA_PROVIDER=provider, CAPTCHA_SECRET="s").captcha_siteverify_url == url
    proxied = from_env(CAPTCHA_PROVIDER=provider, CAPTCHA_SECRET="s", CAPTCHA_VERIFY_URL="http://127.0.0.1:9/v")
    assert proxied.captcha_siteverify_url == "http://127.0.0.1:9/v"


def test_captcha_is_off_by_default() -> None:
    config = Config()
    assert config.captcha_provider == "none" and config.captcha_siteverify_url == ""


@pytest.mark.parametrize(("environ", "named"), [
    ({"CAPTCHA_PROVIDER": "recaptcha"}, "CAPTCHA_PROVIDER"),
    ({"CAPTCHA_PROVIDER": "turnstile"}, "CAPTCHA_SECRET"),
    ({"CAPTCHA_LOGIN": "sometimes"}, "CAPTCHA_LOGIN"),
    ({"CAPTCHA_LOGIN_FAILURES": "0"}, "CAPTCHA_LOGIN_FAILURES"),
    ({"CAPTCHA_TIMEOUT_SECONDS": "0"}, "CAPTCHA_TIMEOUT_SECONDS"),
    ({"CAPTCHA_VERIFY_URL": "ftp://example.com/v"}, "CAPTCHA_VERIFY_URL"),
])
def test_a_bad_captcha_setting_is_named(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        from_env(**environ)
