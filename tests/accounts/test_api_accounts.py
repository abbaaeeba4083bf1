"""POST /signup and POST /login over HTTP: the seed's answers, every refusal and its code, and the races."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from support.api import PASSWORD, Api, assert_error

REGISTERED = {"code": "auth/user-registered", "message": "Successfully created your account! Login now.",
              "status": "success"}
LOGIN_KEYS = {"created_at", "email", "email_verified", "name", "status", "tokens", "uid", "updated_at"}
GOOD = {"name": "Omar Quazi", "email": "omar@quazi.co", "password": PASSWORD}



async def can_login(api: Api, email: str = "omar@quazi.co", password: str = PASSWORD) -> bool:
    response = await api.login(email=email, password=password)
    assert response.status in (200, 401), response.body
    return response.status == 200


# --- signup -------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_signup_answers_exactly_the_seed_body_and_the_account_logs_in(api: Api) -> None:
    assert not await can_login(api)
    response = await api.signup()
    assert response.status == 200
    assert response.json == REGISTERED
    assert await can_login(api)


@pytest.mark.gen_test
@pytest.mark.parametrize(("body", "code"), [
    (b"{not json", "auth/invalid-json"),
    (b"", "auth/invalid-json"),
    (b'[{"name": "Omar Quazi", "email": "omar@quazi.co", "password": "Myverystrongpassword123@"}]',
     "auth/invalid-json"),
    (b'"a string"', "auth/invalid-json"),
    (b"\xff\xfe{}", "auth/invalid-json"),
], ids=["malformed", "empty", "array", "string", "not-utf8"])
async def test_signup_refuses_a_body_that_is_not_a_json_object(api: Api, body: bytes, code: str) -> None:
    assert_error(await api.request("POST", "/signup", body=body), 400, code)
    assert not await can_login(api)


@pytest.mark.gen_test
@pytest.mark.parametrize("missing", ["name", "email", "password"])
async def test_signup_refuses_a_missing_or_null_field(api: Api, missing: str) -> None:
    absent = {k: v for k, v in GOOD.items() if k != missing}
    assert_error(await api.post("/signup", absent), 400, "auth/missing-field")
    assert_error(await api.post("/signup", {**GOOD, missing: None}), 400, "auth/missing-field")
    assert not await can_login(api)


@pytest.mark.gen_test
@pytest.mark.parametrize("field", ["name", "email", "password"])
@pytest.mark.parametrize("value", [12345, True, ["omar@quazi.co"], {"$ne": ""}, {"$gt": ""}],
                         ids=["int", "bool", "list", "ne-operator", "gt-operator"])
async def test_signup_refuses_a_field_of_the_wrong_type(api: Api, field: str, value: Any) -> None:
    assert_error(await api.post("/signup", {**GOOD, field: value}), 400, "auth/invalid-field")
    assert not await can_login(api)


@pytest.mark.gen_test
async def test_login_refuses_operator_injection_instead_of_matching_any_user(api: Api) -> None:
    assert (await api.signup()).status == 200
    for body in ({"email": {"$ne": ""}, "password": PASSWORD},
                 {"email": {"$regex": ".*"}, "password": PASSWORD},
                 {"email": "omar@quazi.co", "password": {"$ne": ""}},
                 {"email": "omar@quazi.co", "password": PASSWORD, "fresh_token": "yes"}):
        response = await api.post("/login", body)
        assert_error(response, 400, "auth/invalid-field")
        assert "tokens" not in response.json


@pytest.mark.gen_test
@pytest.mark.parametrize("email", ["not-an-email", "omar@", "@quazi.co", "omar@@quazi.co", "   ", "a" * 250 + "@q.co"])
async def test_signup_refuses_an_invalid_email(api: Api, email: str) -> None:
    assert_error(await api.signup(email=email), 400, "auth/invalid-email")


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [{"password_min_length": 12}], ids=["min12"])
async def test_signup_enforces_the_configured_minimum_password_length(api: Api, settings: dict[str, Any]) -> None:
    response = await api.signup(password="Elevenchars")
    assert_error(response, 400, "auth/weak-password")
    assert "12" in response.json["message"]
    assert not await can_login(api, password="Elevenchars")
    assert (await api.signup(password="Twelve chars")).status == 200
    assert await can_login(api, password="Twelve chars")


@pytest.mark.gen_test
@pytest.mark.parametrize("password", ["short", "        ", "x" * 1025], ids=["short", "blank", "too-long"])
async def test_signup_refuses_a_weak_password(api: Api, password: str) -> None:
    assert_error(await api.signup(password=password), 400, "auth/weak-password")
    assert not await can_login(api, password=password)


@pytest.mark.gen_test
@pytest.mark.parametrize("name", ["", "   ", "Omar\x00Quazi", "Omar\nQuazi", "Omar\u202eQuazi", "x" * 201],
                         ids=["empty", "blank", "nul", "newline", "bidi-override", "too-long"])
async def test_signup_refuses_an_invalid_name(api: Api, name: str) -> None:
    assert_error(await api.signup(name=name), 400, "auth/invalid-name")
    assert not await can_login(api)


@pytest.mark.gen_test
@pytest.mark.parametrize("again", ["omar@quazi.co", "Omar@Quazi.CO", "  OMAR@quazi.co  "])
async def test_signup_with_a_taken_email_is_409_and_keeps_the_first_account(api: Api, again: str) -> None:
    assert (await api.signup()).status == 200
    assert_error(await api.signup(email=again, password="another password 1"), 409, "auth/email-already-in-use")
    assert await can_login(api)
    assert not await can_login(api, password="another password 1")


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [{"disable_signup": True}], ids=["disabled"])
async def test_disabled_signup_is_403_and_settings_says_so(api: Api, settings: dict[str, Any]) -> None:
    assert_error(await api.signup(), 403, "auth/signup-disabled")
    assert not await can_login(api)
    assert (await api.get("/settings")).json["disable_signup"] is True


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("settings", [{"rate_limit_login_failures": "100/60"}], ids=["no-account-lock"])
async def test_parallel_signups_with_one_email_create_exactly_one_account(api: Api, settings: dict[str, Any]) -> None:
    passwords = [f"racing password {i:02d}" for i in range(20)]
    responses = await asyncio.gather(*(api.signup(email="race@quazi.co", password=p) for p in passwords))
    statuses = [r.status for r in responses]
    assert sorted(statuses) == [200] + [409] * 19, statuses
    assert all(r.json["code"] == "auth/email-already-in-use" for r in responses if r.status == 409)
    winner = passwords[statuses.index(200)]
    logins = [await can_login(api, "race@quazi.co", p) for p in passwords]
    assert logins == [p == winner for p in passwords]


# --- login --------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_login_answers_the_seed_shape(api: Api) -> None:
    assert (await api.signup()).status == 200
    response = await api.login()
    assert response.status == 200
    body = response.json
    assert set(body) == LOGIN_KEYS
    assert set(body["tokens"]) == {"access_token", "refresh_token"}
    assert body["status"] == "success"
    assert body["email"] == "omar@quazi.co"
    assert body["name"] == "Omar Quazi"
    assert body["email_verified"] is False
    assert type(body["created_at"]) is int and type(body["updated_at"]) is int
    assert body["created_at"] <= body["updated_at"]
    assert str(uuid.UUID(body["uid"])) == body["uid"]
    assert body["tokens"]["access_token"] != body["tokens"]["refresh_token"]
    user = await api.get("/user", token=body["tokens"]["access_token"])
    assert user.status == 200
    assert user.json["uid"] == body["uid"]


@pytest.mark.gen_test
async def test_login_email_is_case_insensitive(api: Api) -> None:
    assert (await api.signup()).status == 200
    assert await can_login(api, email="OMAR@Quazi.co")


@pytest.mark.gen_test
async def test_wrong_password_and_unknown_email_get_the_same_answer(api: Api) -> None:
    assert (await api.signup()).status == 200
    wrong_password = await api.login(password="Not the password 1")
    unknown_email = await api.login(email="nobody@quazi.co")
    invalid_email = await api.login(email="not an email")
    assert_error(wrong_password, 401, "auth/invalid-credentials")
    assert unknown_email.status == wrong_password.status == invalid_email.status
    assert unknown_email.body == wrong_password.body == invalid_email.body


LONG_PHRASE = "Seven quiet otters juggle marmalade under a violet umbrella near Oslo, 7"  # 72 characters, strong


@pytest.mark.gen_test
@pytest.mark.parametrize("password", [LONG_PHRASE + "Z" * 28, "Déjà vu, élève, forêt, château: crème brûlée " * 2],
                         ids=["ascii-100", "utf8-multibyte"])
async def test_every_byte_of_a_long_password_counts(api: Api, password: str) -> None:
    assert len(password.encode()) >= 98
    assert (await api.signup(password=password)).status == 200
    assert await can_login(api, password=password)
    prefix = password.encode()[:72].decode(errors="ignore")
    assert not await can_login(api, password=prefix)
    assert not await can_login(api, password=prefix + "different tail!")
    assert not await can_login(api, password=password[:-1] + "?")


@pytest.mark.gen_test(timeout=60)
@pytest.mark.parametrize("path", ["/signup", "/login"])
async def test_a_9mb_body_is_refused_with_413(api: Api, path: str) -> None:
    padding = "x" * (9 * 1024 * 1024)
    body = f'{{"name": "Omar", "email": "omar@quazi.co", "password": "{PASSWORD}", "pad": "{padding}"}}'
    assert_error(await api.request("POST", path, body=body), 413, "auth/payload-too-large")
    assert not await can_login(api)


@pytest.mark.gen_test
async def test_signup_refuses_text_that_is_not_valid_unicode(api: Api) -> None:
    """JSON can carry a lone surrogate; it must be a 400, never a 500 from the database or bcrypt."""
    for field in ("name", "email", "password"):
        body = json.dumps({**GOOD, field: GOOD[field] + "\ud800"}).encode()
        assert_error(await api.request("POST", "/signup", body=body), 400, "auth/invalid-field")
    assert not await can_login(api)
