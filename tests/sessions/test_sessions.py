"""Sessions: one per login, listed and ended by their owner, ended all at once by logout-all, a
password change or the operator's `server.py sessions revoke-all`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from support.api import PASSWORD, Api, assert_revoked

# Every test here runs against the standalone Redis and against a three-primary Redis Cluster.
pytestmark = pytest.mark.redis_cluster_too

ROOT = Path(__file__).resolve().parents[2]
NEW_PASSWORD = "An0ther-rather-long-passphrase"


async def login_as(api: Api, user_agent: str, email: str = "omar@quazi.co", fresh: bool = False) -> dict[str, str]:
    response = await api.post("/login", {"email": email, "password": PASSWORD, "fresh_token": fresh},
                              headers={"User-Agent": user_agent})
    assert response.status == 200, response.body
    return response.json["tokens"]


async def sessions_of(api: Api, access: str) -> list[dict]:
    response = await api.get("/user/sessions", token=access)
    assert response.status == 200, response.body
    return response.json["sessions"]


async def current_sid(api: Api, access: str) -> str:
    return next(s["id"] for s in await sessions_of(api, access) if s["current"])


async def assert_alive(api: Api, tokens: dict[str, str]) -> None:
    assert (await api.get("/user", token=tokens["access_token"])).status == 200


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python server.py ...` as an operator runs it, with only the settings given here."""
    clean = {k: v for k, v in os.environ.items() if k not in {"MONGO_URL", "REDIS_URL", "JWT_KEYS", "AUTH_CONFIG"}}
    return subprocess.run([sys.executable, "server.py", *args], cwd=ROOT, env={**clean, **env},
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.gen_test
async def test_each_login_is_a_listed_session(api: Api) -> None:
    assert (await api.signup()).status == 200
    phone = await login_as(api, "Phone/1.0")
    laptop = await login_as(api, "Laptop/2.0")
    listed = await sessions_of(api, laptop["access_token"])
    assert len(listed) == 2
    for session in listed:
        assert set(session) == {"id", "created_at", "last_used_at", "ip", "user_agent", "current"}
        assert session["ip"] == "127.0.0.1"
        assert isinstance(session["created_at"], int)
        assert session["last_used_at"] >= session["created_at"]
    assert {s["user_agent"] for s in listed} == {"Phone/1.0", "Laptop/2.0"}
    assert [s["user_agent"] for s in listed if s["current"]] == ["Laptop/2.0"]
    from_phone = await sessions_of(api, phone["access_token"])
    assert [s["user_agent"] for s in from_phone if s["current"]] == ["Phone/1.0"]


@pytest.mark.gen_test
async def test_deleting_a_session_ends_its_tokens_at_once(api: Api) -> None:
    assert (await api.signup()).status == 200
    phone = await login_as(api, "Phone/1.0")
    laptop = await login_as(api, "Laptop/2.0")
    phone_sid = await current_sid(api, phone["access_token"])
    response = await api.request("DELETE", f"/user/sessions/{phone_sid}", token=laptop["access_token"])
    assert (response.status, response.json["code"]) == (200, "auth/session-revoked")
    await assert_revoked(api, phone)
    await assert_alive(api, laptop)
    assert [s["user_agent"] for s in await sessions_of(api, laptop["access_token"])] == ["Laptop/2.0"]
    again = await api.request("DELETE", f"/user/sessions/{phone_sid}", token=laptop["access_token"])
    assert (again.status, again.json["code"]) == (404, "auth/session-not-found")


@pytest.mark.gen_test
async def test_unknown_or_foreign_session_ids_are_not_found(api: Api) -> None:
    mine = await api.signed_up_tokens()
    theirs = await api.signed_up_tokens(email="eve@quazi.co")
    unknown = await api.request("DELETE", f"/user/sessions/{uuid.uuid4().hex}", token=mine["access_token"])
    assert (unknown.status, unknown.json["code"]) == (404, "auth/session-not-found")
    their_sid = await current_sid(api, theirs["access_token"])
    foreign = await api.request("DELETE", f"/user/sessions/{their_sid}", token=mine["access_token"])
    assert (foreign.status, foreign.json["code"]) == (404, "auth/session-not-found")
    assert foreign.body == unknown.body
    await assert_alive(api, theirs)
    assert [s["id"] for s in await sessions_of(api, theirs["access_token"])] == [their_sid]


@pytest.mark.gen_test
async def test_logout_ends_only_this_session(api: Api) -> None:
    here = await api.signed_up_tokens()
    elsewhere = await login_as(api, "Other/1.0")
    response = await api.post("/logout", token=here["access_token"])
    assert (response.status, response.json["code"]) == (200, "auth/logged-out")
    await assert_revoked(api, here)
    await assert_alive(api, elsewhere)
    assert len(await sessions_of(api, elsewhere["access_token"])) == 1


@pytest.mark.gen_test
async def test_logout_all_ends_every_session(api: Api) -> None:
    first = await api.signed_up_tokens()
    second = await login_as(api, "Other/1.0")
    bystander = await api.signed_up_tokens(email="eve@quazi.co")
    response = await api.post("/logout/all", token=first["access_token"])
    assert (response.status, response.json["code"]) == (200, "auth/logged-out-everywhere")
    await assert_revoked(api, first)
    await assert_revoked(api, second)
    await assert_alive(api, bystander)


@pytest.mark.gen_test
async def test_password_change_ends_other_sessions_and_returns_working_tokens(api: Api) -> None:
    fresh = await api.signed_up_tokens(fresh=True)
    other = await login_as(api, "Other/1.0")
    response = await api.patch("/user", {"password": NEW_PASSWORD}, token=fresh["access_token"])
    assert (response.status, response.json["code"]) == (200, "auth/changed-password")
    new = response.json["tokens"]
    await assert_revoked(api, other)
    await assert_alive(api, new)
    assert (await api.post("/refresh", {"token": new["refresh_token"]})).status == 200
    assert len(await sessions_of(api, new["access_token"])) == 1
    assert (await api.login(password=NEW_PASSWORD)).status == 200


@pytest.mark.gen_test(timeout=60)
async def test_cli_revoke_all_ends_every_token(api: Api, redis_url: str, keys_dir: Path) -> None:
    first = await api.signed_up_tokens()
    second = await login_as(api, "Other/1.0")
    eve = await api.signed_up_tokens(email="eve@quazi.co")
    result = run_cli("sessions", "revoke-all", env={"REDIS_URL": redis_url, "JWT_KEYS": str(keys_dir)})
    assert result.returncode == 0, result.stderr
    assert "3 session(s) ended" in result.stdout
    for tokens in (first, second, eve):
        await assert_revoked(api, tokens)
    # Logging in again works: only the sessions ended, not the accounts or keys.
    await assert_alive(api, (await api.login()).json["tokens"])


@pytest.mark.standalone_redis_only  # refused before any Redis command
def test_cli_revoke_all_for_one_user_needs_mongo(redis_url: str, keys_dir: Path) -> None:
    result = run_cli("sessions", "revoke-all", "--user", "omar@quazi.co",
                     env={"REDIS_URL": redis_url, "JWT_KEYS": str(keys_dir)})
    assert result.returncode == 1
    assert "MONGO_URL" in result.stderr
    assert "Traceback" not in result.stderr
