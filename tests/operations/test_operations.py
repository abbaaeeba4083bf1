"""Operations over HTTP: liveness and readiness probes, Prometheus metrics and who may read them, request ids
and JSON log lines."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.api import PASSWORD, Api, assert_error, with_settings

from runtime import serving
from services.config import ConfigError, load_config
from services.infra import EmbeddedRedis
from services.operations import Metrics, MetricsExposition, prepare_metrics_dir
from services.operations.log_format import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]
ALL_OK = {"redis": "ok", "mongo": "ok", "keys": "ok"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What a test asks for with `with_settings` (conftest's `config` reads it)."""
    return dict(getattr(request, "param", {}))


# --- liveness and readiness ------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_healthz_answers_ok(api: Api) -> None:
    response = await api.get("/healthz")
    assert (response.status, response.json) == (200, {"status": "ok"})


@pytest.mark.redis_cluster_too
@pytest.mark.gen_test
async def test_readyz_reports_every_check(api: Api) -> None:
    response = await api.get("/readyz")
    assert (response.status, response.json) == (200, {"status": "ok", "checks": ALL_OK})


@pytest.mark.gen_test
async def test_readyz_answers_503_while_draining(api: Api, services: Any) -> None:
    services.operations.readiness.start_draining()
    response = await api.get("/readyz")
    assert response.status == 503, response.body
    assert response.json == {"status": "error", "code": "auth/not-ready", "message": response.json["message"],
                             "checks": {**ALL_OK, "draining": "draining"}}
    assert (await api.get("/healthz")).status == 200  # alive all the same: nobody should restart it


@pytest.mark.gen_test
async def test_readyz_says_no_signing_key(api: Api, services: Any, keys_dir: Path) -> None:
    for path in list(keys_dir.iterdir()):  # noqa: ASYNC240 (a few local files, in a test)
        path.unlink()
    await services.tokens.keyring.reload()
    response = await api.get("/readyz")
    assert (response.status, response.json["checks"]["keys"]) == (503, "no-signing-key")


@pytest.fixture
def outage_settings(own_redis: EmbeddedRedis, settings: dict[str, Any]) -> None:
    settings.update(redis_url=own_redis.url, redis_timeout_seconds=0.5, readiness_timeout_seconds=0.5)


@pytest.mark.gen_test(timeout=30)
async def test_readyz_follows_redis_down_and_back(outage_settings: None, own_redis: EmbeddedRedis,
                                                  api: Api) -> None:
    assert (await api.get("/readyz")).status == 200

    own_redis.stop()
    down = await api.get("/readyz")
    assert down.status == 503, down.body
    assert down.json["code"] == "auth/not-ready"
    assert down.json["checks"] == {**ALL_OK, "redis": "unavailable"}
    assert (await api.get("/healthz")).status == 200

    own_redis.start()
    back = await api.get("/readyz")
    assert (back.status, back.json) == (200, {"status": "ok", "checks": ALL_OK})


@with_settings(trusted_proxies=("127.0.0.1",))
@pytest.mark.gen_test
async def test_readyz_hides_its_checks_from_the_internet(settings: dict[str, Any], api: Api, services: Any) -> None:
    outside = {"X-Forwarded-For": "203.0.113.9"}
    assert (await api.get("/readyz", headers=outside)).json == {"status": "ok"}
    services.operations.readiness.start_draining()
    response = await api.get("/readyz", headers=outside)
    assert_error(response, 503, "auth/not-ready")


# --- metrics ---------------------------------------------------------------------------------------------


@pytest.mark.redis_cluster_too
@with_settings(rate_limit_signup="1/1m")
@pytest.mark.gen_test
async def test_metrics_count_logins_limits_and_requests(settings: dict[str, Any], api: Api) -> None:
    assert (await api.signup()).status == 200
    assert (await api.signup(email="second@quazi.co")).status == 429
    tokens = (await api.login()).json["tokens"]
    assert (await api.login(password="not the password")).status == 401
    assert (await api.get("/refresh", body=json.dumps({"token": tokens["refresh_token"]}))).status == 200
    assert (await api.get("/user", token=tokens["access_token"])).status == 200

    response = await api.get("/metrics")
    assert response.status == 200, response.body
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.body.decode()
    for line in ('auth_logins_total{outcome="success"} 1.0',
                 'auth_logins_total{outcome="auth/invalid-credentials"} 1.0',
                 'auth_refreshes_total{outcome="success"} 1.0',
                 'auth_rate_limited_total{rule="signup"} 1.0',
                 "auth_keyring_keys 1.0",
                 "auth_keyring_signing 1.0",
                 "auth_mail_outbox_depth 0.0"):
        assert line in text.splitlines(), (line, text)
    found = samples(text)
    user = (("method", "GET"), ("route", "UserHandler"), ("status", "200"))
    assert found[("auth_http_request_duration_seconds_count", user)] == 1
    assert found[("auth_http_request_duration_seconds_bucket", tuple(sorted((*user, ("le", "+Inf")))))] == 1
    assert 0 < found[("auth_http_request_duration_seconds_sum", user)] < 5
    failed_login = (("method", "POST"), ("route", "LoginHandler"), ("status", "401"))
    assert found[("auth_http_request_duration_seconds_count", failed_login)] == 1
    assert found[("auth_keyring_reloads_total", (("result", "changed"),))] == 1
    # The route label is the handler, never the path: an unknown address adds no new label value.
    await api.get("/no/such/page/4242")
    labels = samples((await api.get("/metrics")).body.decode())
    routes = {dict(key[1]).get("route") for key in labels if key[0] == "auth_http_request_duration_seconds_count"}
    assert "NotFoundHandler" in routes and not any("/" in str(route) for route in routes)


@with_settings(rate_limit_token="1/1m")
@pytest.mark.gen_test
async def test_a_rate_limited_login_is_counted_under_its_rule(settings: dict[str, Any], api: Api) -> None:
    assert (await api.signup()).status == 200
    assert (await api.login()).status == 200
    assert (await api.login()).status == 429
    text = (await api.get("/metrics")).body.decode()
    assert 'auth_rate_limited_total{rule="token"} 1.0' in text.splitlines()
    assert 'auth_logins_total{outcome="success"} 1.0' in text.splitlines()


@with_settings(trusted_proxies=("127.0.0.1",))
@pytest.mark.gen_test
async def test_metrics_are_refused_outside_the_allowed_networks(settings: dict[str, Any], api: Api) -> None:
    assert_error(await api.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}), 404, "auth/not-found")
    inside = await api.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert inside.status == 200 and b"auth_keyring_keys" in inside.body


@with_settings(metrics_enabled=False)
@pytest.mark.gen_test
async def test_metrics_can_be_turned_off(settings: dict[str, Any], api: Api, services: Any) -> None:
    assert (await api.get("/user")).status == 401  # still served, counted by nobody
    assert_error(await api.get("/metrics"), 404, "auth/not-found")
    assert not services.config.metrics_path.exists()


class _Outbox:
    async def pending(self) -> int:
        return 3


_WORKER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from services.operations.metrics import Metrics
metrics = Metrics(Path(sys.argv[2]))
for _ in range(int(sys.argv[3])):
    metrics.login_finished("success")
metrics.request_finished("UserHandler", "GET", 200, 0.002)
"""


@pytest.mark.gen_test
async def test_one_scrape_sums_every_process(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    prepare_metrics_dir(folder)
    for count in (2, 5):  # two worker processes, one after the other, each with its own pid and files
        subprocess.run([sys.executable, "-c", _WORKER, str(ROOT), str(folder), str(count)],  # noqa: ASYNC221
                       check=True, timeout=30)
    here = Metrics(folder)  # and this process, a third writer
    here.login_finished("success")
    ring = SimpleNamespace(keys={"a": object(), "b": object()}, signing_key=None)
    try:
        found = samples((await MetricsExposition(folder, ring, _Outbox(), 1.0).render()).decode())
    finally:
        here.close()
    assert found[("auth_logins_total", (("outcome", "success"),))] == 8
    user = (("method", "GET"), ("route", "UserHandler"), ("status", "200"))
    assert found[("auth_http_request_duration_seconds_count", user)] == 2
    assert found[("auth_keyring_keys", ())] == 2
    assert found[("auth_keyring_signing", ())] == 0
    assert found[("auth_mail_outbox_depth", ())] == 3

    prepare_metrics_dir(folder)  # the next start: nothing of the last run is left to count
    assert not list(folder.glob("*.db"))


@pytest.mark.gen_test
async def test_two_metrics_in_one_process_keep_to_their_own_folders(tmp_path: Path) -> None:
    first, second = Metrics(tmp_path / "one"), Metrics(tmp_path / "two")
    ring = SimpleNamespace(keys={}, signing_key=None)
    try:
        first.rate_limited("signup")
        second.rate_limited("token")
        second.rate_limited("token")
        one = samples((await MetricsExposition(tmp_path / "one", ring, _Outbox(), 1.0).render()).decode())
        two = samples((await MetricsExposition(tmp_path / "two", ring, _Outbox(), 1.0).render()).decode())
    finally:
        first.close()
        second.close()
    assert {k: v for k, v in one.items() if k[0] == "auth_rate_limited_total"} == {
        ("auth_rate_limited_total", (("rule", "signup"),)): 1}
    assert {k: v for k, v in two.items() if k[0] == "auth_rate_limited_total"} == {
        ("auth_rate_limited_total", (("rule", "token"),)): 2}


# --- request ids -----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_safe_request_id_is_echoed(api: Api) -> None:
    response = await api.get("/", headers={"X-Request-ID": "lb-7f3a.9_Z-1"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.9_Z-1"


@pytest.mark.gen_test
async def test_a_request_id_is_made_when_missing_or_unsafe(api: Api) -> None:
    made = set()
    for sent in (None, "has spaces", "quote\"d", "x" * 129, "ünïcode", ""):
        response = await api.get("/", headers={"X-Request-ID": sent} if sent is not None else {})
        request_id = response.headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", request_id), (sent, request_id)
        made.add(request_id)
    assert len(made) == 6  # a new one each time
    assert (await api.get("/", headers={"X-Request-ID": "x" * 128})).headers["X-Request-ID"] == "x" * 128


@pytest.mark.gen_test
async def test_errors_carry_the_request_id_too(api: Api) -> None:
    for response in (await api.get("/no/such/page", headers={"X-Request-ID": "abc"}),
                     await api.get("/user", headers={"X-Request-ID": "abc"}),
                     await api.request("PUT", "/login", headers={"X-Request-ID": "abc"}),
                     await api.post("/login", body=b"{not json", headers={"X-Request-ID": "abc"})):
        assert response.status >= 400
        assert response.headers["X-Request-ID"] == "abc", response.status


# --- JSON log lines --------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_json_log_lines_carry_the_request_and_no_secret(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert (await api.signup()).status == 200
    login = await api.post("/login", {"email": "omar@quazi.co", "password": PASSWORD},
                           headers={"X-Request-ID": "login-1"})
    tokens = login.json["tokens"]
    await api.get(f"/refresh?token={tokens['refresh_token']}", headers={"X-Request-ID": "refresh-1"})

    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"]):
        assert not [line for line in lines if secret in line]
    parsed = [json.loads(line) for line in lines]
    access = [entry for entry in parsed if entry["logger"] == "auth.access"]
    refresh = next(entry for entry in access if entry["request_id"] == "refresh-1")
    assert set(refresh) == {"timestamp", "level", "logger", "message", "request_id", "method", "route", "path",
                            "status", "duration_ms", "client_ip"}
    assert refresh["path"] == "/refresh?token=[redacted]"
    assert (refresh["method"], refresh["route"], refresh["status"], refresh["client_ip"]) == (
        "GET", "RefreshHandler", 200, "127.0.0.1")
    assert refresh["level"] == "INFO" and isinstance(refresh["duration_ms"], float)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", refresh["timestamp"])

    audit = [entry for entry in parsed if entry["logger"] == "auth.audit"]
    login_ok = next(entry for entry in audit if entry["event"] == "login.ok")
    assert login_ok["message"] == "login.ok"
    assert login_ok["request_id"] == "login-1"
    assert login_ok["ip"] == "127.0.0.1" and login_ok["uid"] and login_ok["sid"]
    assert next(entry for entry in audit if entry["event"] == "refresh")["request_id"] == "refresh-1"


@pytest.mark.gen_test
async def test_text_access_lines_end_with_the_request_id(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auth.access")
    response = await api.get("/healthz", headers={"X-Request-ID": "probe-7"})
    assert response.headers["X-Request-ID"] == "probe-7"
    [line] = [record.getMessage() for record in caplog.records if record.name == "auth.access"]
    assert re.fullmatch(r"200 GET /healthz \(127\.0\.0\.1\) \d+\.\d\dms probe-7", line), line


def test_in_json_mode_the_start_banner_is_one_json_line(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(None, environ={"LOG_FORMAT": "json", "DATA_DIR": str(tmp_path)})
    caplog.set_level(logging.WARNING, logger="auth.server")
    serving._banner(config, embedded_redis_used=True)
    assert capsys.readouterr().err == ""  # no framed text block for the log pipeline to choke on
    [record] = caplog.records
    line = json.loads(JsonFormatter().format(record))
    assert line["message"].endswith(f"listening on http://{config.host}:{config.port}/")
    assert any("STORED IN MEMORY" in notice for notice in line["notices"])
    assert any("Redis is embedded" in notice for notice in line["notices"])


# --- settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "xml"), ("METRICS_ALLOWED_NETWORKS", "10.0.0.0/33"),
                                             ("READINESS_TIMEOUT_SECONDS", "0")])
def test_bad_operations_settings_stop_the_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config(None, environ={name: value})


def test_metrics_dir_defaults_under_data_dir() -> None:
    assert load_config(None, environ={"DATA_DIR": "/srv/auth"}).metrics_path == Path("/srv/auth/metrics")
    assert load_config(None, environ={"METRICS_DIR": "/run/m"}).metrics_path == Path("/run/m")


@pytest.mark.gen_test
async def test_unreadable_key_files_are_counted_once(api: Api, services: Any, keys_dir: Path) -> None:
    (keys_dir / "broken.pub").write_text("not a key")
    (keys_dir / "broken.key").write_text("not a key")
    await services.tokens.keyring.reload()
    await services.tokens.keyring.reload()
    found = samples((await api.get("/metrics")).body.decode())
    assert found[("auth_keyring_skipped_files_total", ())] == 1
    assert found[("auth_keyring_keys", ())] == 1
