"""The password policy (NIST SP 800-63B, OWASP ASVS 2.1): no common or self-describing passwords, long
passphrases welcome with every character significant, and odd input refused cleanly.
"""

from __future__ import annotations

import json

import pytest
from support.api import PASSWORD, Api, Response

EMAIL = "omarquazi2020@example.com"


async def signup_with(api: Api, password: str, email: str = EMAIL) -> Response:
    return await api.signup(email=email, password=password)


def assert_weak(response: Response, says: str) -> None:
    assert (response.status, response.json["code"]) == (400, "auth/weak-password"), response.body
    assert says in response.json["message"].lower(), response.json["message"]


def raw_json(**fields: str) -> str:
    """A JSON object whose `\\ud800` escapes survive as written: a lone surrogate, valid JSON, invalid text."""
    return json.dumps(fields).replace("SURROGATE", "\\ud800")


@pytest.mark.gen_test
@pytest.mark.parametrize("password", ["password1", "qwerty123", "iloveyou", "Password1", " iloveyou "])
async def test_common_passwords_are_refused(api: Api, password: str) -> None:
    assert_weak(await signup_with(api, password), "common")
    assert (await api.login(email=EMAIL, password=password)).status == 401  # no account was made


@pytest.mark.gen_test
async def test_common_password_is_refused_on_change_too(api: Api) -> None:
    tokens = await api.signed_up_tokens(email=EMAIL, fresh=True)
    assert_weak(await api.patch("/user", {"password": "qwerty123"}, token=tokens["access_token"]), "common")
    assert (await api.get("/user", token=tokens["access_token"])).status == 200  # nothing changed, nothing ended


@pytest.mark.gen_test
@pytest.mark.parametrize("password", [EMAIL, EMAIL.upper(), "omarquazi2020", "OmarQuazi2020"])
async def test_the_email_or_its_local_part_is_refused(api: Api, password: str) -> None:
    assert_weak(await signup_with(api, password), "email")


@pytest.mark.gen_test
@pytest.mark.parametrize("length", [64, 1000, 1024])
async def test_long_passwords_work_and_every_character_counts(api: Api, length: int) -> None:
    password = ("correct horse battery staple " * 40)[: length - 1] + "A"
    assert len(password) == length
    assert (await signup_with(api, password)).status == 200
    assert (await api.login(email=EMAIL, password=password)).status == 200
    for changed in (password[:-1] + "B", "X" + password[1:], password[:-1]):
        response = await api.login(email=EMAIL, password=changed)
        assert (response.status, response.json.get("code")) == (401, "auth/invalid-credentials")


@pytest.mark.gen_test
async def test_over_the_maximum_length_is_weak(api: Api) -> None:
    assert_weak(await signup_with(api, "x" * 1024 + "y"), "at most 1024")


@pytest.mark.gen_test
async def test_over_the_maximum_length_at_login_is_just_wrong(api: Api) -> None:
    assert (await api.signup()).status == 200
    response = await api.login(password=PASSWORD + "x" * 2000)
    assert (response.status, response.json["code"]) == (401, "auth/invalid-credentials")


@pytest.mark.gen_test
async def test_a_lone_surrogate_in_the_password_is_a_400_everywhere(api: Api) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    bad = "abc" + "SURROGATE" + "defghijkl"
    requests = [
        ("POST", "/signup", raw_json(name="Eve", email="eve@quazi.co", password=bad), None),
        ("POST", "/login", raw_json(email="omar@quazi.co", password=bad), None),
        ("PATCH", "/user", raw_json(password=bad), tokens["access_token"]),
    ]
    for method, path, body, token in requests:
        assert "\\ud800" in body
        response = await api.request(method, path, body=body, token=token,
                                     headers={"Content-Type": "application/json"})
        assert response.status == 400, (path, response.status, response.body)
        assert response.json["code"] == "auth/invalid-field"
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
