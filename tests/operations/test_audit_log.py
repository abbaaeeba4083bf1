"""The audit trail: one JSON line per authentication event on `auth.audit`, saying who, which session
and from where, and never a secret: no password and no token reaches any log line, on any logger.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import jwt
import pytest
from support.api import PASSWORD, Api

from services.config import ConfigError, load_config
from services.operations import AUDIT_KEY_FILE, AuditLog, audit_key

NEW_PASSWORD = "Brand-new passphrase 42"
STRANGER = "stranger.guess@quazi.co"
WRONG = "wrong password!"


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"rate_limit_login_failures": "3/60", "login_lock_base_seconds": 30}


class Audit:
    """Runs one action and returns the audit entries it wrote; every record stays in caplog for the end."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self._caplog = caplog

    async def one(self, event: str, action: Awaitable[Any]) -> dict[str, Any]:
        start = len(self._caplog.records)
        await action
        entries = [json.loads(r.getMessage()) for r in self._caplog.records[start:] if r.name == "auth.audit"]
        assert [entry["event"] for entry in entries] == [event], entries
        entry = entries[0]
        assert entry["ip"] == "127.0.0.1"
        assert isinstance(entry["ts"], float | int)
        return entry


@pytest.fixture
def audit(caplog: pytest.LogCaptureFixture) -> Audit:
    caplog.set_level(logging.DEBUG)  # every logger, every level: the secret check reads them all
    return Audit(caplog)


def ids(tokens: dict[str, str]) -> tuple[str, str]:
    """(uid, sid) of a token pair, as the server put them in."""
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    return claims["sub"], claims["sid"]


class Client:
    """The API, keeping every token it is handed so the test can look for them in the logs."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.secrets: set[str] = {PASSWORD, NEW_PASSWORD, WRONG, STRANGER}

    async def call(self, status: int, method: str, path: str, json_body: Any = None, token: str | None = None) -> Any:
        response = await self.api.request(method, path, json_body=json_body, token=token)
        assert response.status == status, response.body
        body = response.json
        self.secrets.update(v for k, v in {**body, **body.get("tokens", {})}.items() if k.endswith("_token"))
        return body

    async def login(self, status: int = 200, email: str = "omar@quazi.co", password: str = PASSWORD,
                    fresh: bool = False) -> Any:
        return await self.call(status, "POST", "/login", {"email": email, "password": password, "fresh_token": fresh})


@pytest.mark.gen_test(timeout=20)
async def test_every_event_is_one_json_line_and_no_secret_is_ever_logged(
        api: Api, audit: Audit, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(api)
    assert (await api.signup()).status == 200
    tokens = (await client.login(fresh=True))["tokens"]
    uid, sid = ids(tokens)

    login = await audit.one("login.ok", client.login())
    assert login["uid"] == uid and login["sid"] not in {None, sid} and login["fresh"] is False
    failed = await audit.one("login.failed", client.login(401, password=WRONG))
    assert failed["uid"] == uid and failed["account"] and failed["failures"] == 1
    stranger = await audit.one("login.failed", client.login(401, email=STRANGER, password=WRONG))
    assert "uid" not in stranger and stranger["account"] != failed["account"]
    await client.login(401, email=STRANGER, password=WRONG)
    await client.login(401, email=STRANGER, password=WRONG)
    limited = await audit.one("login.limited", client.login(429, email=STRANGER))
    assert limited["account"] == stranger["account"]

    refresh = await audit.one("refresh", client.call(200, "POST", "/refresh", {"token": tokens["refresh_token"]}))
    assert (refresh["uid"], refresh["sid"]) == (uid, sid)
    # The seed's query-string form hands back the same child; using that child makes the parent stale.
    child = await client.call(200, "GET", f"/refresh?token={tokens['refresh_token']}")
    await client.call(200, "POST", "/refresh", {"token": child["refresh_token"]})
    reuse = await audit.one("refresh.reuse_detected",
                            client.call(401, "POST", "/refresh", {"token": tokens["refresh_token"]}))
    assert (reuse["uid"], reuse["sid"]) == (uid, sid)

    other = (await client.login())["tokens"]
    logout = await audit.one("logout", client.call(200, "POST", "/logout", token=other["access_token"]))
    assert (logout["uid"], logout["sid"]) == ids(other)

    fresh = (await client.login(fresh=True))["tokens"]
    change = await audit.one("password.changed", client.call(200, "PATCH", "/user", {"password": NEW_PASSWORD},
                                                             token=fresh["access_token"]))
    assert change["uid"] == uid and change["sid"] not in {sid, ids(fresh)[1]}

    assert len(client.secrets) > 10
    leaks = [(secret[:12], line[:100]) for line in caplog.text.splitlines() for secret in client.secrets
             if secret in line]
    assert not leaks
    assert "/refresh?token=[redacted]" in caplog.text  # the access log was captured too, and redacted
    assert all(json.loads(r.getMessage()) for r in caplog.records if r.name == "auth.audit")


TYPED_PASSWORD = "Tr0ub4dor&3"  # typed into the email field by mistake


@pytest.mark.gen_test
async def test_a_password_typed_as_the_address_is_named_by_a_keyed_hash(
        api: Api, audit: Audit, services: Any) -> None:
    """Issue 12, item 8: an unsalted SHA-256 of a short typed string is a lookup away from the string itself."""
    failed = await audit.one("login.failed", api.login(email=TYPED_PASSWORD, password=WRONG))
    assert failed["account"] != hashlib.sha256(TYPED_PASSWORD.encode()).hexdigest()[:16]
    assert failed["account"] == services.operations.audit.account_ref(TYPED_PASSWORD.lower())
    again = await audit.one("login.failed", api.login(email=TYPED_PASSWORD, password=WRONG))
    assert again["account"] == failed["account"]  # still correlates


def test_the_audit_key_is_made_once_per_data_dir_or_taken_from_the_setting(tmp_path: Path) -> None:
    made = audit_key("", tmp_path / "data")
    assert (tmp_path / "data" / AUDIT_KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert audit_key("", tmp_path / "data") == made  # every process with this DATA_DIR correlates
    assert audit_key("", tmp_path / "other") != made
    shared = "a-key-that-every-machine-of-the-cluster-has"
    assert audit_key(shared, tmp_path / "other") == audit_key(shared, tmp_path / "data") == shared.encode()
    same = AuditLog(key=audit_key(shared, tmp_path)), AuditLog(key=audit_key(shared, tmp_path / "x"))
    assert same[0].account_ref("omar@quazi.co") == same[1].account_ref("omar@quazi.co")
    expected = hmac.new(shared.encode(), b"omar@quazi.co", hashlib.sha256).hexdigest()[:16]
    assert same[0].account_ref("omar@quazi.co") == expected


def test_a_short_audit_key_or_an_unusable_key_file_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AUDIT_HMAC_KEY"):
        load_config(None, environ={"AUDIT_HMAC_KEY": "too-short"})
    (tmp_path / AUDIT_KEY_FILE).write_text("not a key\n")
    with pytest.raises(ConfigError, match=AUDIT_KEY_FILE):
        audit_key("", tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="DATA_DIR"):
        audit_key("", blocker)
