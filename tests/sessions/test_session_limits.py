"""Issue 12, item 3: how long a session lives and how many a user holds, and what a rotated refresh token is worth.

`REFRESH_TOKEN_REUSE: compatible` (the default) keeps honouring the parent of the current refresh token, as seed
clients need; `strict` honours it for `REFRESH_TOKEN_REUSE_INTERVAL` seconds only, then ends the session.
`SESSION_IDLE_TIMEOUT` ends a session nobody refreshes, `SESSION_MAX_LIFETIME` every session at an absolute
end (its access tokens too, on their very next request), and `SESSION_MAX_PER_USER` ends the oldest
sessions of a user who holds too many.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from support.api import Api, assert_error, assert_revoked, login_tokens, token_claims, with_settings

from services.sessions import SessionStore

# Every test here runs against the standalone Redis and against a three-primary Redis Cluster.
pytestmark = pytest.mark.redis_cluster_too


def audit_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == "auth.audit"]


async def sessions_of(api: Api, access: str) -> list[dict[str, Any]]:
    response = await api.get("/user/sessions", token=access)
    assert response.status == 200, response.body
    return response.json["sessions"]


# --- refresh-token reuse --------------------------------------------------------------------------------------

@with_settings(refresh_token_reuse_interval=1)
@pytest.mark.gen_test(timeout=20)
async def test_compatible_mode_keeps_honouring_the_parent_of_a_seed_client(api: Api, settings: dict[str, Any]) -> None:
    original = (await api.signed_up_tokens())["refresh_token"]
    first = await api.refreshed(original)
    await asyncio.sleep(1.5)  # past the interval, which compatible mode does not apply
    again = await api.refreshed(original)
    assert token_claims(again["refresh_token"])["jti"] == token_claims(first["refresh_token"])["jti"]
    assert (await api.get("/user", token=again["access_token"])).status == 200


@with_settings(refresh_token_reuse="strict", refresh_token_reuse_interval=2)
@pytest.mark.gen_test(timeout=20)
async def test_strict_mode_honours_the_parent_within_the_interval_then_ends_the_session(
        api: Api, settings: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auth.audit")
    tokens = await api.signed_up_tokens()
    other = await login_tokens(api)  # another device of the same user
    child = await api.refreshed(tokens["refresh_token"])
    # A lost answer, retried at once: the same child again, nothing ended.
    retried = await api.refreshed(tokens["refresh_token"])
    assert token_claims(retried["refresh_token"])["jti"] == token_claims(child["refresh_token"])["jti"]
    await asyncio.sleep(2.5)
    assert_error(await api.refresh(tokens["refresh_token"]), 401, "auth/token-revoked")
    # The whole session ended with it: its newest tokens too, on their very next request.
    await assert_revoked(api, child)
    await assert_revoked(api, retried)
    reuse = [event for event in audit_events(caplog) if event["event"] == "refresh.reuse_detected"]
    assert [event["sid"] for event in reuse] == [token_claims(child["access_token"])["sid"]]
    assert (await api.get("/user", token=other["access_token"])).status == 200
    assert (await api.refresh(other["refresh_token"])).status == 200


@with_settings(refresh_token_reuse="strict")
@pytest.mark.gen_test(timeout=20)
async def test_strict_mode_never_forks_or_ends_a_session_on_parallel_refreshes(api: Api,
                                                                               settings: dict[str, Any]) -> None:
    tokens = await api.signed_up_tokens()
    answers = await asyncio.gather(*(api.refresh(tokens["refresh_token"]) for _ in range(10)))
    assert [answer.status for answer in answers] == [200] * 10, [answer.body for answer in answers]
    assert len({token_claims(answer.json["refresh_token"])["jti"] for answer in answers}) == 1
    for answer in answers:
        assert (await api.get("/user", token=answer.json["access_token"])).status == 200


@with_settings(refresh_token_reuse="strict")
@pytest.mark.gen_test(timeout=20)
async def test_strict_mode_rotates_normally_for_a_client_that_stores_each_new_token(
        api: Api, settings: dict[str, Any]) -> None:
    token = (await api.signed_up_tokens())["refresh_token"]
    for _ in range(5):
        answer = await api.refreshed(token)
        assert (await api.get("/user", token=answer["access_token"])).status == 200
        token = answer["refresh_token"]


# --- idle timeout and absolute lifetime --------------------------------------------------------------------------

@with_settings(jwt_access_token_lifetime=1, session_idle_timeout=3)
@pytest.mark.gen_test(timeout=30)
async def test_idle_timeout_ends_a_session_nobody_refreshes_and_each_refresh_restarts_it(
        api: Api, settings: dict[str, Any]) -> None:
    token = (await api.signed_up_tokens())["refresh_token"]
    for _ in range(2):  # 4 s in all, past the 3 s timeout: each refresh restarted the clock
        await asyncio.sleep(2)
        token = (await api.refreshed(token))["refresh_token"]
    await asyncio.sleep(3.6)
    assert_error(await api.refresh(token), 401, "auth/token-revoked")


@with_settings(jwt_access_token_lifetime=2, session_idle_timeout=3)
@pytest.mark.gen_test(timeout=30)
async def test_a_seed_client_replaying_its_parent_also_keeps_the_session_from_idling_out(
        api: Api, settings: dict[str, Any]) -> None:
    original = (await api.signed_up_tokens())["refresh_token"]
    for _ in range(3):  # 6 s in all: the handed-back child counts as use, as a rotation does
        await asyncio.sleep(2)
        assert (await api.get("/user", token=(await api.refreshed(original))["access_token"])).status == 200


@with_settings(jwt_access_token_lifetime=10, session_max_lifetime=4)
@pytest.mark.gen_test(timeout=30)
async def test_max_lifetime_ends_a_busy_session_and_its_unexpired_access_tokens(api: Api, services: Any,
                                                                               settings: dict[str, Any]) -> None:
    """The end is counted from the login's whole second (`created_at`): up to a second early, never late."""
    tokens = await api.signed_up_tokens()
    uid, sid = token_claims(tokens["access_token"])["sub"], token_claims(tokens["access_token"])["sid"]
    assert 0 < await services.redis.ttl(SessionStore.key(uid, sid)) <= 4
    latest = tokens
    for elapsed in (1, 2):
        await asyncio.sleep(1)
        latest = await api.refreshed(latest["refresh_token"])
        assert await services.redis.ttl(SessionStore.key(uid, sid)) <= 4 - elapsed  # a refresh never extends it
    await asyncio.sleep(2.6)
    # 4.6 s after the login: the access tokens themselves are good for 10 s, the session is over.
    assert_error(await api.get("/user", token=tokens["access_token"]), 401, "auth/token-revoked")
    await assert_revoked(api, latest)
    assert (await api.get("/user", token=(await login_tokens(api))["access_token"])).status == 200


# --- sessions per user ------------------------------------------------------------------------------------------

@with_settings(session_max_per_user=3)
@pytest.mark.gen_test(timeout=30)
async def test_a_login_past_the_cap_ends_the_oldest_sessions_first(api: Api, settings: dict[str, Any],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="auth.audit")
    logins = [await api.signed_up_tokens()]
    for n in range(1, 5):
        response = await api.post("/login", {"email": "omar@quazi.co", "password": "Myverystrongpassword123@"},
                                  headers={"User-Agent": f"Device/{n}"})
        assert response.status == 200, response.body
        logins.append(response.json["tokens"])
    for ended in logins[:2]:
        await assert_revoked(api, ended)
    for alive in logins[2:]:
        assert (await api.get("/user", token=alive["access_token"])).status == 200
    listed = await sessions_of(api, logins[-1]["access_token"])
    assert sorted(session["user_agent"] for session in listed) == ["Device/2", "Device/3", "Device/4"]
    evicted = [event for event in audit_events(caplog) if event["event"] == "session.evicted"]
    assert [event["sid"] for event in evicted] == [token_claims(t["access_token"])["sid"] for t in logins[:2]]


@with_settings(session_max_per_user=3)
@pytest.mark.gen_test(timeout=30)
async def test_parallel_logins_never_leave_more_sessions_than_the_cap(api: Api, settings: dict[str, Any]) -> None:
    assert (await api.signup()).status == 200
    answers = await asyncio.gather(*(api.login() for _ in range(12)))
    assert [answer.status for answer in answers] == [200] * 12
    alive = [answer.json["tokens"] for answer in answers
             if (await api.get("/user", token=answer.json["tokens"]["access_token"])).status == 200]
    assert len(alive) == 3
    listed = await sessions_of(api, alive[0]["access_token"])
    assert {session["id"] for session in listed} == {token_claims(t["access_token"])["sid"] for t in alive}


@with_settings(session_max_per_user=2)
@pytest.mark.gen_test(timeout=30)
async def test_sessions_that_expired_on_their_own_do_not_count_against_the_cap(api: Api, services: Any,
                                                                               settings: dict[str, Any]) -> None:
    first = await api.signed_up_tokens()
    second = await login_tokens(api)
    claims = token_claims(first["access_token"])
    await services.redis.delete(SessionStore.key(claims["sub"], claims["sid"]))  # as its TTL would
    third = await login_tokens(api)
    for alive in (second, third):  # the dead entry made room: nobody live was ended
        assert (await api.get("/user", token=alive["access_token"])).status == 200
    assert len(await sessions_of(api, third["access_token"])) == 2
