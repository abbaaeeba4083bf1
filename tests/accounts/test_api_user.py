"""GET and PATCH /user over HTTP: the seed's answers, and what each change does to the account and its tokens."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import PASSWORD, Api, assert_error, assert_revoked, login_tokens

EMAIL = "omar@quazi.co"
NEW_EMAIL = "example2@quazi.co"
NEW_PASSWORD = "ExtremelyStrongPassword123@@"
CHANGED_NAME = {"code": "auth/changed-name", "message": "Successfully changed your name!", "status": "success"}
CHANGED_EMAIL = {
    "code": "auth/changed-email",
    "message": "Successfully changed your email address, please check your inbox for a verification email! "
               "You may now login again.",
    "status": "success",
}
CHANGED_PASSWORD = {"code": "auth/changed-password", "message": "Successfully changed your password!",
                    "status": "success"}



async def me(api: Api, token: str) -> dict[str, Any]:
    response = await api.get("/user", token=token)
    assert response.status == 200, response.body
    return response.json


async def can_login(api: Api, email: str = EMAIL, password: str = PASSWORD) -> bool:
    response = await api.login(email=email, password=password)
    assert response.status in (200, 401), response.body
    return response.status == 200


# --- GET /user ----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_get_user_answers_the_seed_shape_with_string_timestamps(api: Api) -> None:
    assert (await api.signup()).status == 200
    login = (await api.login()).json
    body = await me(api, login["tokens"]["access_token"])
    assert body == {
        "created_at": str(login["created_at"]),
        "email": EMAIL,
        "email_verified": False,
        "name": "Omar Quazi",
        "picture": None,  # the one field beyond the seed's: no profile picture yet
        "status": "success",
        "uid": login["uid"],
        "updated_at": str(login["updated_at"]),
    }
    assert body["created_at"].isdigit() and body["updated_at"].isdigit()


# --- name ---------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_patch_name_answers_the_seed_body_and_shows_the_new_name(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    response = await api.patch("/user", {"name": "  Omar  "}, token=tokens["access_token"])
    assert response.status == 200
    assert response.json == CHANGED_NAME
    assert (await me(api, tokens["access_token"]))["name"] == "Omar"
    assert (await api.login()).json["name"] == "Omar"
    assert (await api.post("/refresh", {"token": tokens["refresh_token"]})).status == 200  # not a revoking change


# --- email --------------------------------------------------------------------------------------------


@pytest.mark.redis_cluster_too  # the per-user epoch, in a cluster too
@pytest.mark.gen_test
async def test_patch_email_answers_the_seed_body_ends_the_asking_session_and_changes_nothing_yet(api: Api) -> None:
    """Issue 12, item 1: the change waits for the mailboxes (tests/accounts/test_email_change.py); until then the
    account keeps its address, and only the session that asked ends, as the seed's "login again" says."""
    tokens = await api.signed_up_tokens()
    other_device = await login_tokens(api)
    uid = (await me(api, tokens["access_token"]))["uid"]
    response = await api.patch("/user", {"email": NEW_EMAIL}, token=tokens["access_token"])
    assert response.status == 200
    assert response.json == CHANGED_EMAIL
    await assert_revoked(api, tokens)
    body = await me(api, other_device["access_token"])
    assert (body["email"], body["uid"]) == (EMAIL, uid)
    assert await can_login(api, email=EMAIL)
    assert not await can_login(api, email=NEW_EMAIL)


@pytest.mark.gen_test
async def test_patch_email_to_another_users_address_answers_alike_and_changes_nothing(api: Api) -> None:
    """Issue 12, item 1: a taken address is no enumeration oracle (the seed answered 409 here)."""
    await api.signed_up_tokens(email=NEW_EMAIL)
    assert (await api.signup()).status == 200
    answers = []
    for address in (NEW_EMAIL, "Example2@Quazi.CO", "free@quazi.co"):
        tokens = await login_tokens(api)
        answers.append(await api.patch("/user", {"email": address}, token=tokens["access_token"]))
    assert {(answer.status, answer.body) for answer in answers} == {(200, answers[0].body)}
    assert answers[0].json == CHANGED_EMAIL
    assert await can_login(api, email=EMAIL) and await can_login(api, email=NEW_EMAIL)


# --- password -----------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_patch_password_with_a_non_fresh_token_is_refused(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    refreshed = (await api.post("/refresh", {"token": tokens["refresh_token"]})).json["access_token"]
    fresh_login = await login_tokens(api, fresh=True)
    refreshed_from_fresh = (await api.post("/refresh", {"token": fresh_login["refresh_token"]})).json["access_token"]
    for token in (tokens["access_token"], refreshed, refreshed_from_fresh):
        response = await api.patch("/user", {"password": NEW_PASSWORD}, token=token)
        assert_error(response, 401, "auth/fresh-token-required")
    assert await can_login(api)
    assert not await can_login(api, password=NEW_PASSWORD)
    await me(api, tokens["access_token"])


@pytest.mark.redis_cluster_too  # the per-user epoch, in a cluster too
@pytest.mark.gen_test(timeout=20)
async def test_patch_password_with_a_fresh_token_ends_every_older_token(api: Api) -> None:
    first = await api.signed_up_tokens()
    other_device = await login_tokens(api)
    fresh = await login_tokens(api, fresh=True)
    response = await api.patch("/user", {"password": NEW_PASSWORD}, token=fresh["access_token"])
    assert response.status == 200, response.body
    body = response.json
    assert {k: v for k, v in body.items() if k != "tokens"} == CHANGED_PASSWORD
    assert set(body["tokens"]) == {"access_token", "refresh_token"}
    for old in (first, other_device, fresh):
        await assert_revoked(api, old)
    assert (await me(api, body["tokens"]["access_token"]))["email"] == EMAIL
    refreshed = await api.post("/refresh", {"token": body["tokens"]["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
    await me(api, refreshed.json["access_token"])
    assert not await can_login(api, password=PASSWORD)
    assert await can_login(api, password=NEW_PASSWORD)


@pytest.mark.redis_cluster_too  # the per-user epoch, in a cluster too
@pytest.mark.gen_test(timeout=20)
async def test_the_new_tokens_are_fresh_enough_to_change_the_password_again(api: Api) -> None:
    await api.signed_up_tokens()
    fresh = await login_tokens(api, fresh=True)
    first = await api.patch("/user", {"password": NEW_PASSWORD}, token=fresh["access_token"])
    again = await api.patch("/user", {"password": "A third good password"}, token=first.json["tokens"]["access_token"])
    assert again.status == 200, again.body
    await assert_revoked(api, first.json["tokens"])
    assert await can_login(api, password="A third good password")
    assert not await can_login(api, password=NEW_PASSWORD)


# --- refusals -----------------------------------------------------------------------------------------


@pytest.mark.gen_test
@pytest.mark.parametrize("body", [
    {}, {"nickname": "Omar"}, {"name": "Omar", "email": NEW_EMAIL}, {"name": "Omar", "password": NEW_PASSWORD},
    {"email": NEW_EMAIL, "password": NEW_PASSWORD}, {"name": "Omar", "email": NEW_EMAIL, "password": NEW_PASSWORD},
], ids=["empty", "unknown-field", "name-email", "name-password", "email-password", "all-three"])
async def test_patch_needs_exactly_one_change(api: Api, body: dict[str, Any]) -> None:
    await api.signed_up_tokens()
    tokens = await login_tokens(api, fresh=True)
    assert_error(await api.patch("/user", body, token=tokens["access_token"]), 400, "auth/nothing-to-change")
    user = await me(api, tokens["access_token"])
    assert (user["name"], user["email"]) == ("Omar Quazi", EMAIL)
    assert await can_login(api)
    assert not await can_login(api, password=NEW_PASSWORD)


@pytest.mark.gen_test
@pytest.mark.parametrize(("body", "code"), [
    ({"name": ""}, "auth/invalid-name"),
    ({"name": "Omar\x07"}, "auth/invalid-name"),
    ({"name": "x" * 201}, "auth/invalid-name"),
    ({"name": 42}, "auth/invalid-field"),
    ({"name": None}, "auth/missing-field"),
    ({"email": "not-an-email"}, "auth/invalid-email"),
    ({"email": {"$ne": ""}}, "auth/invalid-field"),
    ({"password": "short"}, "auth/weak-password"),
    ({"password": " " * 12}, "auth/weak-password"),
    ({"password": ["a", "list"]}, "auth/invalid-field"),
])
async def test_patch_with_a_bad_value_is_refused_and_changes_nothing(api: Api, body: dict[str, Any],
                                                                    code: str) -> None:
    await api.signed_up_tokens()
    tokens = await login_tokens(api, fresh=True)
    assert_error(await api.patch("/user", body, token=tokens["access_token"]), 400, code)
    user = await me(api, tokens["access_token"])
    assert (user["name"], user["email"]) == ("Omar Quazi", EMAIL)
    assert await can_login(api)


@pytest.mark.gen_test
async def test_patch_refuses_a_body_that_is_not_a_json_object(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    for raw in (b"{nope", b"", b'["name"]'):
        response = await api.request("PATCH", "/user", body=raw, token=tokens["access_token"])
        assert_error(response, 400, "auth/invalid-json")
    assert (await me(api, tokens["access_token"]))["name"] == "Omar Quazi"


@pytest.mark.gen_test
async def test_patch_without_a_valid_token_changes_nothing(api: Api) -> None:
    tokens = await api.signed_up_tokens()
    assert_error(await api.patch("/user", {"name": "Mallory"}), 401, "auth/token-missing")
    assert_error(await api.patch("/user", {"name": "Mallory"}, token=tokens["refresh_token"]), 401,
                 "auth/token-invalid")
    assert (await me(api, tokens["access_token"]))["name"] == "Omar Quazi"
