"""Request ids on every answer and log line, and the JSON log format that carries no secret."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from support.api import PASSWORD, Api

from runtime import serving
from services.config import load_config
from services.operations.log_format import JsonFormatter

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
