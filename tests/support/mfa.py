"""Second factors as a client drives them: enrol an authenticator app, answer a challenge with its code."""

from __future__ import annotations

import json
import time
from typing import Any

import pyotp
import pytest

from support.api import Api


def code_for(secret: str, steps_from_now: int = 0) -> str:
    """The code an authenticator app shows `steps_from_now` 30-second steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


async def start_totp(api: Api, token: str, name: str | None = None) -> dict[str, Any]:
    response = await api.post("/user/mfa/totp", {"name": name} if name else {}, token=token)
    assert response.status == 200, response.body
    return response.json


async def enrol_totp(api: Api, token: str, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """Enrol an app with a (fresh) token; returns its secret and the confirmation's answer (recovery codes, tokens)."""
    started = await start_totp(api, token, name)
    confirmed = await api.post("/user/mfa/totp/confirm", {"factor_id": started["factor_id"],
                                                          "code": code_for(started["secret"])}, token=token)
    assert confirmed.status == 200, confirmed.body
    return started["secret"], {**confirmed.json, "factor_id": started["factor_id"]}


async def verify_totp(api: Api, token: str, factor_id: str, code: str) -> Any:
    challenge = await api.post("/mfa/challenge", {"factor_id": factor_id}, token=token)
    assert challenge.status == 200, challenge.body
    return await api.post("/mfa/verify", {"challenge_id": challenge.json["challenge_id"], "code": code}, token=token)


def audit_events(caplog: pytest.LogCaptureFixture, event: str) -> list[dict[str, Any]]:
    """The audit lines of `event` so far (the test must have set `auth.audit` to INFO)."""
    lines = [json.loads(record.getMessage()) for record in caplog.records if record.name == "auth.audit"]
    return [line for line in lines if line["event"] == event]
