"""Admin keys (issue 17): shown once, stored only as a keyed hash, scoped, revocable on the next request, limited
per key, audited by name, and never interchangeable with a user's token."""

from __future__ import annotations

import argparse
import logging
import re
from typing import Any

import pytest
from support.admin import admin_key, bearer
from support.api import Api, assert_error, login_tokens, with_settings

from commands.admin_keys import run_admin_keys_command
from services.admin import KEY_BYTES
from services.wiring import Services


async def command(services: Services, capsys: pytest.CaptureFixture[str], **args: Any) -> tuple[int, str, str]:
    code = await run_admin_keys_command(services, argparse.Namespace(**args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.gen_test(timeout=30)
async def test_a_key_is_printed_once_and_only_its_keyed_hash_is_stored(services: Services, api: Api,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await command(services, capsys, admin_keys_command="create", name="backend",
                                   scopes="users:read,users:write")
    key = out.strip()
    assert code == 0 and re.fullmatch(r"pja_[A-Za-z0-9_-]{43}", key) and "shown this once" in err
    assert len(key.removeprefix("pja_")) * 6 >= KEY_BYTES * 8 >= 256
    stored = {name: await services.redis.hgetall(name) for name in await services.redis.keys("auth:{admin}:*")}
    assert key not in repr(stored) and key.removeprefix("pja_") not in repr(stored)
    assert services.admin.keys.digest(key) in repr(stored)
    code, out, _ = await command(services, capsys, admin_keys_command="list")
    assert code == 0 and out.startswith("backend\tusers:read,users:write\tcreated ") and "last used never" in out
    assert key not in out
    assert (await api.get("/admin/users", **bearer(key))).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_a_revoked_key_fails_on_its_very_next_request(services: Services, api: Api,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    key = await admin_key(services, name="old")
    assert (await api.get("/admin/users", **bearer(key))).status == 200
    assert (await command(services, capsys, admin_keys_command="revoke", name="old"))[0] == 0
    assert_error(await api.get("/admin/users", **bearer(key)), 401, "auth/admin-key-required")
    code, _, err = await command(services, capsys, admin_keys_command="revoke", name="old")
    assert code == 1 and "no admin key named old" in err


@pytest.mark.gen_test(timeout=30)
async def test_names_and_scopes_are_checked_and_a_name_is_never_reused(services: Services,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert (await command(services, capsys, admin_keys_command="create", name="a", scopes="users:read"))[0] == 0
    code, _, err = await command(services, capsys, admin_keys_command="create", name="a", scopes="users:read")
    assert code == 1 and "exists already" in err
    code, _, err = await command(services, capsys, admin_keys_command="create", name="b", scopes="root")
    assert code == 1 and "scopes must be some of" in err
    code, _, err = await command(services, capsys, admin_keys_command="create", name="no spaces", scopes="introspect")
    assert code == 1 and "name" in err


@pytest.mark.gen_test(timeout=30)
async def test_a_user_token_is_refused_on_admin_addresses_and_an_admin_key_on_user_ones(services: Services,
                                                                                       api: Api) -> None:
    await api.signup()
    tokens = await login_tokens(api)
    key = await admin_key(services)
    assert_error(await api.get("/admin/users", **bearer(tokens["access_token"])), 401, "auth/admin-key-required")
    assert_error(await api.get("/admin/users", token=tokens["access_token"]), 401, "auth/admin-key-required")
    assert_error(await api.get("/admin/users"), 401, "auth/admin-key-required")
    assert_error(await api.get("/admin/users", **bearer("pja_" + "A" * 43)), 401, "auth/admin-key-required")
    assert_error(await api.get("/user", **bearer(key)), 401, "auth/token-invalid")
    assert_error(await api.get("/user", token=key), 401, "auth/token-invalid")
    assert_error(await api.post("/refresh", {"token": key}), 401, "auth/token-invalid")


@pytest.mark.gen_test(timeout=30)
async def test_a_key_without_the_scope_gets_403(services: Services, api: Api) -> None:
    reader = await admin_key(services, "users:read", name="reader")
    signed_up = await api.signup()
    assert signed_up.status == 200
    uid = (await api.get("/admin/users", **bearer(reader))).json["users"][0]["uid"]
    assert_error(await api.post("/admin/users", {"email": "new@example.com", "name": "New"}, **bearer(reader)),
                 403, "auth/insufficient-scope")
    assert_error(await api.request("DELETE", f"/admin/users/{uid}/sessions", **bearer(reader)), 403,
                 "auth/insufficient-scope")
    writer = await admin_key(services, "users:write", name="writer")
    assert_error(await api.get(f"/admin/users/{uid}", **bearer(writer)), 403, "auth/insufficient-scope")
    assert_error(await api.request("DELETE", f"/admin/users/{uid}/sessions", **bearer(writer)), 403,
                 "auth/insufficient-scope")


@with_settings(rate_limit_admin="3/60")
@pytest.mark.gen_test(timeout=30)
async def test_each_key_has_its_own_quota(services: Services, api: Api) -> None:
    first, second = await admin_key(services, name="first"), await admin_key(services, name="second")
    answers = [await api.get("/admin/users", **bearer(first)) for _ in range(4)]
    assert [answer.status for answer in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Limit"] == "3" and "Retry-After" in answers[3].headers
    assert (await api.get("/admin/users", **bearer(second))).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_last_used_is_recorded_without_a_write_per_request(services: Services, api: Api,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    key = await admin_key(services, name="busy")
    await api.get("/admin/users", **bearer(key))
    first = await services.redis.hget("auth:{admin}:last-used", "busy")
    assert first is not None and int(first) > 0
    await services.redis.hset("auth:{admin}:last-used", "busy", 1)  # a write now would overwrite this
    for _ in range(5):
        assert (await api.get("/admin/users", **bearer(key))).status == 200
    assert await services.redis.hget("auth:{admin}:last-used", "busy") == "1"
    _, out, _ = await command(services, capsys, admin_keys_command="list")
    assert "last used 1970-01-01T00:00:01Z" in out


@pytest.mark.gen_test(timeout=30)
async def test_admin_changes_are_audited_with_the_key_name(services: Services, api: Api,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    key = await admin_key(services, name="support-desk")
    with caplog.at_level(logging.INFO, logger="auth.audit"):
        created = await api.post("/admin/users", {"email": "new@example.com", "name": "New", "password":
                                                  "correct horse battery staple"}, **bearer(key))
    assert created.status == 201, created.body
    lines = [record.getMessage() for record in caplog.records if record.name == "auth.audit"]
    assert any('"event":"account.created"' in line and '"admin_key":"support-desk"' in line for line in lines)
    assert key not in caplog.text
