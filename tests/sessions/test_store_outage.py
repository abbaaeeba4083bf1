"""An unreachable user store on an authenticated request: 503 when the user must be read, and no read at all while
this process's copy of the user is current (services/users/cache.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import ServerSelectionTimeoutError
from support.api import Api, assert_error

from services.outcomes import UNAVAILABLE


async def unreachable(*args: Any, **options: Any) -> None:
    raise ServerSelectionTimeoutError("no MongoDB")


@pytest.mark.gen_test(timeout=30)
async def test_user_read_failing_answers_503(api: Api, services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = await api.signed_up_tokens()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    # A change: the copy this process kept is out of date, the next request must read MongoDB.
    assert (await api.patch("/user", {"name": "Omar Q"}, token=tokens["access_token"])).status == 200
    monkeypatch.setattr(services.users._users, "find_one", unreachable)
    assert_error(await api.get("/user", token=tokens["access_token"]), 503, UNAVAILABLE.code)


@pytest.mark.gen_test(timeout=30)
async def test_a_current_copy_of_the_user_needs_no_mongodb(api: Api, services: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = await api.signed_up_tokens()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    monkeypatch.setattr(services.users._users, "find_one", unreachable)
    answer = await api.get("/user", token=tokens["access_token"])
    assert answer.status == 200, answer.body
    # A write needs MongoDB (so no copy can go stale while it is away), and says so.
    for name in ("find_one_and_update", "update_one"):
        monkeypatch.setattr(services.users._users, name, unreachable)
    assert_error(await api.patch("/user", {"name": "Omar Q"}, token=tokens["access_token"]), 503, UNAVAILABLE.code)
