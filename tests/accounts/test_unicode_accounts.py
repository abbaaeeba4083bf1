"""Unicode in passwords and addresses (issue 12, item 8), over HTTP: a password is NFKC-normalised before it is
hashed (NIST SP 800-63B §5.1.1.2), an older hash of a non-NFKC form still opens its account and is rehashed;
zxcvbn refuses what is easy to guess from the user's own words and the service's name; an address a person
reads as another account's address (fullwidth letters, mixed scripts, confusables) is taken.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from support.api import Api, assert_error

from services.infra import IndexBuild
from services.users import UserStore
from services.wiring import Services

EMAIL = "omar@quazi.co"
# Fullwidth digits, a ligature and a decomposed é: NFKC makes it "Sécurité first 2024 ﬁne" into plain letters.
TYPED = "Se\u0301curite\u0301 first \uff12\uff10\uff12\uff14 \ufb01ne tune"
NFKC = unicodedata.normalize("NFKC", TYPED)


@pytest.mark.gen_test(timeout=30)
async def test_a_password_typed_in_another_unicode_form_opens_the_same_account(api: Api) -> None:
    assert NFKC != TYPED and NFKC == "Sécurité first 2024 fine tune"
    assert (await api.signup(password=TYPED)).status == 200
    for form in (TYPED, NFKC, unicodedata.normalize("NFC", TYPED)):
        assert (await api.login(password=form)).status == 200, form
    assert (await api.login(password="Securite first 2024 fine tune")).status == 401


@pytest.mark.gen_test(timeout=30)
async def test_a_hash_of_an_earlier_version_still_opens_the_account_and_is_rehashed(api: Api,
                                                                                    services: Services) -> None:
    """Users who registered a non-NFKC password before this version keep their way in."""
    assert (await api.signup()).status == 200
    user = await services.users.find_by_email(EMAIL)
    legacy = services.accounts.password_login._hasher._hash_sync(TYPED)  # the raw form, as an earlier version did
    await services.users.update(user.uid, {"password_hash": legacy})
    assert (await api.login(password=TYPED)).status == 200
    rehashed = (await services.users.find_by_email(EMAIL)).password_hash
    assert rehashed != legacy
    assert services.accounts.password_login._hasher._verify_sync(NFKC, rehashed)
    assert (await api.login(password=NFKC)).status == 200  # the NFKC form now opens it too
    assert (await api.login(password=TYPED)).status == 200


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "abcdefghijklmnop", "1234567890123", "qwertyuiopasdf",
                                      "PythonJWTAuth", "Python JWT Auth 1", "omarquazi2024", "Omar Quazi 2024"])
async def test_passwords_easy_to_guess_from_known_words_are_refused(api: Api, password: str) -> None:
    """zxcvbn counts the user's own address and name and APP_NAME ("Python JWT Auth") as known words."""
    response = await api.signup(password=password)
    assert_error(response, 400, "auth/weak-password")
    assert "easy to guess" in response.json["message"] or "common" in response.json["message"]


@pytest.mark.gen_test(timeout=30)
async def test_the_seed_example_passwords_pass_the_default_policy(api: Api) -> None:
    assert (await api.signup(password="Myverystrongpassword123@")).status == 200
    tokens = (await api.login(fresh=True)).json["tokens"]
    changed = await api.patch("/user", {"password": "ExtremelyStrongPassword123@@"}, token=tokens["access_token"])
    assert changed.status == 200, changed.body


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("settings", [{"password_min_score": 0}], indirect=True, ids=["no-score"])
async def test_a_minimum_score_of_zero_turns_the_estimate_off(api: Api, settings: dict[str, Any]) -> None:
    assert (await api.signup(password="aaaaaaaaaaaa")).status == 200


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("lookalike", [
    "ｏｍａｒ@quazi.co",  # noqa: RUF001 (the fullwidth letters are the point)
    "\u043emar@quazi.co",  # Cyrillic o
    "omar@quaz\u0456.co",  # Cyrillic i in the domain
    "0mar@quazi.co",  # a digit zero
    "o\u200bmar@quazi.co",  # an invisible zero-width space
], ids=["fullwidth", "cyrillic-local", "cyrillic-domain", "digit", "zero-width"])
async def test_an_address_that_reads_as_a_taken_one_cannot_make_a_second_account(api: Api, services: Services,
                                                                                 lookalike: str) -> None:
    assert (await api.signup()).status == 200
    response = await api.signup(email=lookalike, password="Another passphrase 55")
    if response.status == 400:  # refused as no address at all, which is fine too
        assert response.json["code"] == "auth/invalid-email", response.body
    else:
        assert_error(response, 409, "auth/email-already-in-use")
    assert await services.users.count() == 1


@pytest.mark.gen_test(timeout=30)
async def test_lookalikes_are_taken_on_every_way_in(api: Api, services: Services) -> None:
    """Sign-up (above), an address change, and the backfill of users stored by an earlier version."""
    assert (await api.signup()).status == 200
    assert (await api.signup(email="other@quazi.co")).status == 200
    other = await services.users.find_by_email("other@quazi.co")
    with pytest.raises(Exception) as taken:
        await services.users.update(other.uid, {"email": "\u043emar@quazi.co"})
    assert getattr(taken.value, "code", None) == "auth/email-already-in-use"
    # An earlier version's users have no key: the start-up backfill gives them one.
    collection = services.users._users
    await collection.update_many({}, {"$unset": {"email_key": ""}})
    restart = IndexBuild(database=services.database, timeout=5, where="the test's database")  # a new process
    UserStore(database=services.database, indexes=restart, versions=services.users.versions)
    await restart.start()
    assert {doc["email_key"] async for doc in collection.find({})} == {EMAIL, "other@quazi.co"}
    assert_error(await api.signup(email="\u043emar@quazi.co", password="Another passphrase 55"), 409,
                 "auth/email-already-in-use")
