"""The config: defaults, config.yaml, environment overrides, and a clear error naming any bad setting."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.processes import SERVER, server_environ

from services.config import Config, ConfigError, Rate, load_config


def from_env(**environ: str) -> Config:
    return load_config(None, environ=environ)


def yaml_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_load_without_a_file_or_environment() -> None:
    config = load_config(None, environ={})
    assert config == Config()
    assert (config.port, config.jwt_algorithm, config.bcrypt_cost, config.jwt_keys) == (8080, "RS256", 12, "keys")
    assert config.embedded_mongo and config.embedded_redis


def test_a_missing_file_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "nowhere.yaml", environ={}) == Config()


def test_the_environment_overrides_config_yaml(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "PORT: 9000\nAPP_NAME: From YAML\nBCRYPT_COST: 10\n")
    assert load_config(path, environ={}).port == 9000
    config = load_config(path, environ={"PORT": "9100", "BCRYPT_COST": "11"})
    assert (config.port, config.app_name, config.bcrypt_cost) == (9100, "From YAML", 11)


def test_keyword_overrides_beat_the_environment(tmp_path: Path) -> None:
    assert load_config(None, environ={"PORT": "9100"}, port=9200).port == 9200


def test_environment_names_are_the_setting_names_only() -> None:
    config = from_env(port="9100", PORTS="1", APP_NAME="Named")  # lower-case or unknown names are not settings
    assert (config.port, config.app_name) == (8080, "Named")


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("1", True), ("YES", True), (" on ", True),
    ("false", False), ("0", False), ("No", False), ("off", False), ("", False),
])
def test_booleans_from_environment_strings(text: str, expected: bool) -> None:
    assert from_env(DISABLE_SIGNUP=text).disable_signup is expected
    assert from_env(JWT_KEYS_AUTO_GENERATE=text).jwt_keys_auto_generate is expected


def test_integers_and_numbers_from_environment_strings() -> None:
    config = from_env(BCRYPT_COST=" 4 ", MAX_CONTENT_LENGTH="1_048_576", JWT_KEYS_RELOAD_SECONDS="0.5",
                      REDIS_TIMEOUT_SECONDS="2")
    assert (config.bcrypt_cost, config.max_content_length) == (4, 1_048_576)
    assert (config.jwt_keys_reload_seconds, config.redis_timeout_seconds) == (0.5, 2.0)


def test_lists_from_comma_separated_strings_and_yaml_lists(tmp_path: Path) -> None:
    config = from_env(CORS_ORIGINS=" https://a.example , https://b.example,, ", TRUSTED_PROXIES="127.0.0.1,10.0.0.0/8")
    assert config.cors_origins == ("https://a.example", "https://b.example")
    assert config.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert from_env(CORS_ORIGINS="").cors_origins == ()
    path = yaml_file(tmp_path, "CORS_ORIGINS: [https://a.example, '*']\n")
    assert load_config(path, environ={}).cors_origins == ("https://a.example", "*")


def test_rates_from_strings() -> None:
    config = from_env(RATE_LIMIT_SIGNUP="5/1h", RATE_LIMIT_TOKEN="30/300", RATE_LIMIT_LOGIN_FAILURES="3 / 5m")
    assert (config.rate_limit_signup, config.rate_limit_token) == (Rate(5, 3600), Rate(30, 300))
    assert config.rate_limit_login_failures == Rate(3, 300)


def test_yaml_keys_are_case_insensitive_and_null_means_default(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "port: 9000\nAPP_NAME:\n")
    config = load_config(path, environ={})
    assert (config.port, config.app_name) == (9000, Config().app_name)


@pytest.mark.parametrize(("written", "normalised"), [
    ("http://localhost:8080/", "http://localhost:8080/"), ("https://auth.example.com", "https://auth.example.com/"),
    ("https://auth.example.com/base", "https://auth.example.com/base/"),
    ("https://auth.example.com/base//", "https://auth.example.com/base/"),
])
def test_app_url_always_ends_with_one_slash(written: str, normalised: str) -> None:
    """Mail links, social callbacks, local picture URLs and pages all build on it: one spelling for all of them."""
    assert from_env(APP_URL=written).app_url == normalised
    assert Config(app_url=written) == Config(app_url=normalised)


def assert_names(setting: str, make: object) -> None:
    with pytest.raises(ConfigError) as caught:
        make()  # type: ignore[operator]
    assert setting in str(caught.value), str(caught.value)


def test_an_unknown_yaml_key_is_named(tmp_path: Path) -> None:
    path = yaml_file(tmp_path, "PORT: 9000\nJWT_ALGORYTHM: RS256\n")
    assert_names("JWT_ALGORYTHM", lambda: load_config(path, environ={}))


@pytest.mark.parametrize("text", ["not: [valid", "- a list\n- of things\n", "just a string\n"])
def test_a_yaml_file_that_is_not_a_mapping_is_refused(tmp_path: Path, text: str) -> None:
    path = yaml_file(tmp_path, text)
    assert_names("config.yaml", lambda: load_config(path, environ={}))


@pytest.mark.parametrize(("setting", "value"), [
    ("BCRYPT_COST", "twelve"), ("BCRYPT_COST", "12.5"), ("BCRYPT_COST", "true"), ("PORT", "80a"),
    ("DISABLE_SIGNUP", "maybe"), ("REDIS_TIMEOUT_SECONDS", "fast"), ("RATE_LIMIT_TOKEN", "150"),
    ("RATE_LIMIT_SIGNUP", "0/5m"), ("TRUSTED_PROXIES", "not-an-address"),
])
def test_a_value_of_the_wrong_type_is_named(setting: str, value: str) -> None:
    assert_names(setting, lambda: from_env(**{setting: value}))


@pytest.mark.parametrize(("setting", "text"), [
    ("BCRYPT_COST", "BCRYPT_COST: 12.5\n"), ("BCRYPT_COST", "BCRYPT_COST: true\n"),
    ("PORT", "PORT: [8080]\n"), ("APP_NAME", "APP_NAME: {a: 1}\n"), ("CORS_ORIGINS", "CORS_ORIGINS: {a: 1}\n"),
])
def test_a_yaml_value_of_the_wrong_type_is_named(tmp_path: Path, setting: str, text: str) -> None:
    path = yaml_file(tmp_path, text)
    assert_names(setting, lambda: load_config(path, environ={}))


@pytest.mark.parametrize(("setting", "value"), [
    ("BCRYPT_COST", "3"), ("BCRYPT_COST", "32"), ("PORT", "70000"), ("PORT", "-1"), ("JWT_LEEWAY", "301"),
    ("JWT_ACCESS_TOKEN_LIFETIME", "0"), ("JWT_REFRESH_TOKEN_LIFETIME", "900"), ("PASSWORD_MAX_LENGTH", "63"),
    ("PASSWORD_MIN_LENGTH", "0"), ("MAX_CONTENT_LENGTH", "100"), ("REDIS_TIMEOUT_SECONDS", "0"),
    ("REDIS_TIMEOUT_SECONDS", "nan"), ("JWT_KEYS_RELOAD_SECONDS", "-1"), ("UNAVAILABLE_RETRY_AFTER", "0"),
    ("LOG_LEVEL", "LOUD"), ("JWT_HEADER_NAME", "  "), ("JWT_AUDIENCE", ""), ("JWT_ISSUER", ""),
    ("APP_URL", "localhost:8080"), ("APP_URL", "ftp://example.com/"), ("MAIL_BACKEND", "sendmail"),
    ("SMTP_SECURITY", "ssl"), ("SMTP_PORT", "0"), ("MAIL_FROM", "no address"), ("MAIL_MAX_ATTEMPTS", "0"),
    ("MAIL_SEND_TIMEOUT_SECONDS", "0"), ("MAIL_RETRY_BASE_SECONDS", "0"), ("MAIL_RETRY_MAX_SECONDS", "1"),
    ("PASSWORD_RESET_LIFETIME", "59"), ("EMAIL_VERIFICATION_LIFETIME", "0"), ("MAILGUN_BASE_URL", "api.mailgun.net"),
    ("RATE_LIMIT_MAIL", "5"), ("RATE_LIMIT_MAIL_ADDRESS", "0/1h"), ("EMAIL_VERIFICATION_REQUIRED", "perhaps"),
    ("APP_URL", "https://auth.example.com/?tenant=a"), ("APP_URL", "https://auth.example.com/base#top"),
    ("REFRESH_TOKEN_REUSE", "sometimes"), ("REFRESH_TOKEN_REUSE_INTERVAL", "-1"), ("SESSION_IDLE_TIMEOUT", "900"),
    ("SESSION_MAX_LIFETIME", "-1"), ("SESSION_MAX_PER_USER", "0"), ("RATE_LIMIT_IPV6_PREFIX", "129"),
    ("RATE_LIMIT_LOGIN_FAILURES_ACCOUNT", "0/1h"), ("EVENT_LOOP", "libev"),
])
def test_an_out_of_range_value_is_named(setting: str, value: str) -> None:
    assert_names(setting, lambda: from_env(**{setting: value}))


@pytest.mark.parametrize(("backend", "missing"), [
    ("mailgun", {"MAILGUN_DOMAIN": "mg.example.com"}), ("mailgun", {"MAILGUN_API_KEY": "key-1"}),
    ("smtp", {"SMTP_HOST": " "}),
])
def test_a_mail_backend_needs_its_settings(backend: str, missing: dict[str, str]) -> None:
    needed = {"MAILGUN_API_KEY", "MAILGUN_DOMAIN"} - set(missing) if backend == "mailgun" else {"SMTP_HOST"}
    assert_names(next(iter(needed)), lambda: from_env(MAIL_BACKEND=backend, **missing))


def test_mailgun_in_the_eu_region() -> None:
    config = from_env(MAIL_BACKEND="mailgun", MAILGUN_API_KEY="key-1", MAILGUN_DOMAIN="mg.example.eu",
                      MAILGUN_BASE_URL="https://api.eu.mailgun.net/v3")
    assert config.mailgun_base_url == "https://api.eu.mailgun.net/v3"
    assert config.mail_lease_seconds == 2 * config.mail_send_timeout_seconds + 5


@pytest.mark.parametrize("alg", ["HS256", "none", "rs256", "RS512", "PS256", ""])
def test_an_unsupported_signing_algorithm_is_named(alg: str) -> None:
    assert_names("JWT_ALGORITHM", lambda: from_env(JWT_ALGORITHM=alg))


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_every_supported_signing_algorithm_loads(alg: str) -> None:
    assert from_env(JWT_ALGORITHM=alg).jwt_algorithm == alg


def run_server(cwd: Path, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """`server.py` as an operator starts it: no config.yaml in `cwd`, settings only from `environ`."""
    return subprocess.run([sys.executable, str(SERVER), *args], cwd=cwd, env=server_environ(**{"PORT": "0", **environ}),
                          capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize(("setting", "value"), [
    ("BCRYPT_COST", "twelve"), ("BCRYPT_COST", "99"), ("JWT_ALGORITHM", "HS256"), ("PORT", "eighty"),
])
def test_the_server_refuses_to_start_and_names_the_setting(tmp_path: Path, setting: str, value: str) -> None:
    result = run_server(tmp_path, **{setting: value})
    assert result.returncode == 2, result.stderr
    assert "configuration error" in result.stderr
    assert setting in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "keys").exists() and not (tmp_path / "data").exists()  # stopped before doing anything


def test_the_server_names_a_bad_setting_in_its_config_file(tmp_path: Path) -> None:
    yaml_file(tmp_path, "BCRYPT_KOST: 12\n")
    result = run_server(tmp_path, "keys", "list")
    assert result.returncode == 2
    assert "BCRYPT_KOST" in result.stderr


def test_a_config_file_named_with_the_option_or_auth_config_is_used(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("JWT_KEYS: other-keys\n")
    assert run_server(tmp_path, "--config", "other.yaml", "keys", "generate").returncode == 0
    assert run_server(tmp_path, "keys", "generate", AUTH_CONFIG="other.yaml").returncode == 0
    assert len(list((tmp_path / "other-keys").glob("*.key"))) == 2


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_named_config_file_that_does_not_exist_stops_the_server(tmp_path: Path, how: str) -> None:
    """A typo in the path must not quietly start a server on defaults (in-memory users, generated keys)."""
    if how == "option":
        result = run_server(tmp_path, "--config", "prod.yml", "serve")
    else:
        result = run_server(tmp_path, "serve", AUTH_CONFIG="prod.yml")
    assert result.returncode == 2, result.stderr
    assert "prod.yml" in result.stderr
    assert not (tmp_path / "keys").exists()


def test_redirect_allowlist_entries_are_kept_normalised_and_bad_ones_named() -> None:
    """Issue 12, item 6: entries are compared with `redirect_to` in one normal form (services/config/urls.py)."""
    config = from_env(SOCIAL_REDIRECT_ALLOWLIST="HTTPS://App.Example.com:443/signed%2din,http://localhost:3000")
    assert config.social_redirect_allowlist == ("https://app.example.com/signed-in", "http://localhost:3000/")
    for bad in ("https://app.example.com/a/../b", "https://app.example.com/x?next=1", "https://app.example.com/#x",
                "ftp://app.example.com/", "https://user@app.example.com/", "https://app.example.com/\u00e9"):
        with pytest.raises(ConfigError, match="SOCIAL_REDIRECT_ALLOWLIST"):
            from_env(SOCIAL_REDIRECT_ALLOWLIST=bad)


def test_cors_origins_are_origins() -> None:
    """Issue 12, item 8: an entry that can never equal a browser's `Origin` (a path, a trailing slash) is a silent
    misconfiguration, and `null` (sandboxed frames, local files) must never be trusted."""
    config = from_env(CORS_ORIGINS="HTTPS://App.Example.com:443,http://localhost:3000,*")
    assert config.cors_origins == ("https://app.example.com", "http://localhost:3000", "*")
    for bad in ("null", "https://app.example.com/", "https://app.example.com/app", "app.example.com",
                "https://app.example.com?x=1", "https://*.example.com"):
        with pytest.raises(ConfigError, match="CORS_ORIGINS"):
            from_env(CORS_ORIGINS=bad)
