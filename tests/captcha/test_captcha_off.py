"""Without `CAPTCHA_PROVIDER`, nothing asks for a CAPTCHA, and a lock refuses with 429 as before."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import PASSWORD, Api, assert_error, with_settings


@pytest.mark.gen_test
@with_settings(rate_limit_login_failures="3/15m")
async def test_without_a_provider_nothing_asks_and_a_lock_is_a_429(settings: dict[str, Any], api: Api) -> None:
    assert (await api.post("/signup", {"name": "N", "email": "omar@quazi.co", "password": PASSWORD})).status == 200
    for _ in range(3):
        assert_error(await api.login(password="wrong password!"), 401, "auth/invalid-credentials")
    locked = await api.login()
    assert_error(locked, 429, "auth/too-many-requests")
    assert int(locked.headers["Retry-After"]) > 0
