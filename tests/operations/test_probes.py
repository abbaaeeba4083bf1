"""Liveness and readiness probes for load balancers and orchestrators, and the operations settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.api import Api, assert_error, with_settings

from services.config import ConfigError, load_config
from services.infra import EmbeddedRedis

ALL_OK = {"redis": "ok", "mongo": "ok", "keys": "ok"}


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


# --- settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "value"), [("LOG_FORMAT", "xml"), ("METRICS_ALLOWED_NETWORKS", "10.0.0.0/33"),
                                             ("READINESS_TIMEOUT_SECONDS", "0")])
def test_bad_operations_settings_stop_the_start(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config(None, environ={name: value})


def test_metrics_dir_defaults_under_data_dir() -> None:
    assert load_config(None, environ={"DATA_DIR": "/srv/auth"}).metrics_path == Path("/srv/auth/metrics")
    assert load_config(None, environ={"METRICS_DIR": "/run/m"}).metrics_path == Path("/run/m")
