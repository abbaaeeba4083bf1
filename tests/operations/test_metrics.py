"""Prometheus metrics: what is counted, who may read them, and one scrape summing every process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.api import Api, assert_error, with_settings

from services.operations import Metrics, MetricsExposition, prepare_metrics_dir

ROOT = Path(__file__).resolve().parents[2]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and sorted labels."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


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


@pytest.mark.gen_test
async def test_unreadable_key_files_are_counted_once(api: Api, services: Any, keys_dir: Path) -> None:
    (keys_dir / "broken.pub").write_text("not a key")
    (keys_dir / "broken.key").write_text("not a key")
    await services.tokens.keyring.reload()
    await services.tokens.keyring.reload()
    found = samples((await api.get("/metrics")).body.decode())
    assert found[("auth_keyring_skipped_files_total", ())] == 1
    assert found[("auth_keyring_keys", ())] == 1
