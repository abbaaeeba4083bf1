"""An unreachable user store on an authenticated request: 503, and the session read started beside it ends quietly."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest
from pymongo.errors import ServerSelectionTimeoutError
from support.api import Api, assert_error

from services.outcomes import UNAVAILABLE


@pytest.mark.gen_test(timeout=30)
async def test_user_read_failing_answers_503_and_leaves_no_unretrieved_task(
        api: Api, services: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    tokens = await api.signed_up_tokens()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200

    async def unreachable(*args: Any, **options: Any) -> None:
        raise ServerSelectionTimeoutError("no MongoDB")

    monkeypatch.setattr(services.users._users, "find_one", unreachable)
    redis_down = ConnectionError("Redis down too")

    async def failing_state(uid: str, sid: str) -> None:
        await asyncio.sleep(0.01)  # still running when the user read fails
        raise redis_down

    monkeypatch.setattr(services.sessions.store, "token_state", failing_state)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        assert_error(await api.get("/user", token=tokens["access_token"]), 503, UNAVAILABLE.code)
        await asyncio.sleep(0.05)  # the session read finishes on its own
        gc.collect()  # an exception never retrieved is reported when its task is collected
    assert "never retrieved" not in caplog.text
