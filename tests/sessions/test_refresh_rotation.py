"""Refresh-token rotation: every refresh hands out a new refresh token, replays of the parent are
forgiven (lost responses, seed clients), anything older ends the whole session (theft detection).
"""

from __future__ import annotations

import asyncio

import pytest
from support.api import Api, assert_revoked, token_claims

# Every test here runs against the standalone Redis and against a three-primary Redis Cluster.
pytestmark = pytest.mark.redis_cluster_too


def jti(token: str) -> str:
    return token_claims(token)["jti"]


@pytest.mark.gen_test
async def test_refresh_answers_a_new_access_and_refresh_token(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    body = await api.refreshed(tokens["refresh_token"])
    assert set(body) == {"access_token", "exp", "refresh_token", "status"}
    assert body["status"] == "success"
    assert body["exp"] == token_claims(body["access_token"])["exp"]
    assert token_claims(body["refresh_token"])["sid"] == token_claims(tokens["refresh_token"])["sid"]  # same session
    assert body["refresh_token"] != tokens["refresh_token"]
    assert jti(body["refresh_token"]) != jti(tokens["refresh_token"])
    assert (await api.get("/user", token=body["access_token"])).status == 200
    # The new refresh token works in its turn.
    nxt = await api.refreshed(body["refresh_token"])
    assert jti(nxt["refresh_token"]) not in {jti(body["refresh_token"]), jti(tokens["refresh_token"])}


@pytest.mark.gen_test
async def test_lost_response_parent_again_returns_the_current_child(api: Api) -> None:
    parent = (await api.signed_up_tokens())["refresh_token"]
    lost_child = (await api.refreshed(parent))["refresh_token"]  # the client never saw this answer
    again = await api.refreshed(parent)
    assert jti(again["refresh_token"]) == jti(lost_child)
    assert (await api.get("/user", token=again["access_token"])).status == 200
    # The re-issued child is the session's current token: it rotates normally.
    grandchild = await api.refreshed(again["refresh_token"])
    assert jti(grandchild["refresh_token"]) != jti(lost_child)
    assert (await api.get("/user", token=grandchild["access_token"])).status == 200


@pytest.mark.gen_test
async def test_seed_client_resending_its_original_refresh_token_keeps_working(api: Api) -> None:
    original = (await api.signed_up_tokens())["refresh_token"]
    children = set()
    for _ in range(5):
        body = await api.refreshed(original)
        assert (await api.get("/user", token=body["access_token"])).status == 200
        children.add(jti(body["refresh_token"]))
    assert len(children) == 1  # one rotation, then the same child handed back each time


@pytest.mark.gen_test
async def test_replaying_an_older_token_ends_the_whole_session_only(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    other = (await api.login()).json["tokens"]  # a second device of the same user
    grandparent = tokens["refresh_token"]
    child = await api.refreshed(grandparent)
    current = await api.refreshed(child["refresh_token"])  # the child was used: grandparent is now stale

    stolen = await api.refresh(grandparent)
    assert (stolen.status, stolen.json["code"]) == (401, "auth/token-revoked")

    await assert_revoked(api, current)
    await assert_revoked(api, {"access_token": tokens["access_token"], "refresh_token": child["refresh_token"]})
    # The other session of the same user is untouched.
    assert (await api.get("/user", token=other["access_token"])).status == 200
    assert (await api.refresh(other["refresh_token"])).status == 200
    sessions = (await api.get("/user/sessions", token=other["access_token"])).json["sessions"]
    assert len(sessions) == 1


@pytest.mark.gen_test(timeout=20)
async def test_parallel_refreshes_of_one_token_never_fork_the_session(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    answers = await asyncio.gather(*(api.refresh(tokens["refresh_token"]) for _ in range(10)))
    assert [answer.status for answer in answers] == [200] * 10, [answer.body for answer in answers]
    assert len({jti(answer.json["refresh_token"]) for answer in answers}) == 1
    access = answers[0].json["access_token"]
    sessions = await api.get("/user/sessions", token=access)
    assert sessions.status == 200
    assert len(sessions.json["sessions"]) == 1
    # Every answer's tokens belong to that one live session.
    for answer in answers:
        assert (await api.get("/user", token=answer.json["access_token"])).status == 200


@pytest.mark.gen_test
async def test_token_kinds_are_not_interchangeable(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    at_refresh = await api.refresh(tokens["access_token"])
    assert (at_refresh.status, at_refresh.json["code"]) == (401, "auth/token-invalid")
    at_user = await api.get("/user", token=tokens["refresh_token"])
    assert (at_user.status, at_user.json["code"]) == (401, "auth/token-invalid")
    # Neither refusal harmed the session.
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    assert (await api.refresh(tokens["refresh_token"])).status == 200
