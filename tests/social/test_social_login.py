"""Mobile social sign-in (`POST /login/<provider>`), the linking rules and `/user/identities`."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt
import pytest
from support.api import PASSWORD, Api, assert_error
from support.providers import CLIENT_ID, FakeProviders, ec_key, rsa_key, social_settings

from services.social import IdentityStore
from services.wiring import Services


@pytest.fixture
def settings(fake_providers: FakeProviders, base_url: str) -> dict[str, Any]:
    return social_settings(fake_providers, base_url)


async def google(api: Api, token: str, **extra: Any) -> Any:
    return await api.post("/login/google", {"id_token": token, **extra})


@pytest.fixture
def clock(services: Services) -> list[float]:
    """The Google provider's clock, which the test moves on (`clock[0] += 61`)."""
    now = [1000.0]
    services.social.sign_in.provider("google")._clock = lambda: now[0]  # type: ignore[union-attr]
    return now


async def verify_email(services: Services, email: str) -> None:
    user = await services.users.find_by_email(email)
    await services.users.update(user.uid, {"email_verified": True})


# --- OpenID Connect ID tokens -----------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_good_id_token_creates_a_user_and_signs_in(api: Api, fake_providers: FakeProviders) -> None:
    response = await google(api, fake_providers.id_token())
    assert response.status == 200, response.body
    body = response.json
    assert body["email"] == "omar@quazi.co" and body["email_verified"] is True and body["name"] == "Omar Quazi"
    assert set(body["tokens"]) == {"access_token", "refresh_token"}
    assert "RateLimit-Remaining" in response.headers  # the per-IP token quota counts it
    me = await api.get("/user", token=body["tokens"]["access_token"])
    assert me.status == 200 and me.json["uid"] == body["uid"]
    again = await google(api, fake_providers.id_token(email="changed@example.com"))
    assert again.json["uid"] == body["uid"]  # the subject decides, not the email
    other_client = await google(api, fake_providers.id_token(aud="our-ios-client-id"))
    assert other_client.json["uid"] == body["uid"]


@pytest.mark.gen_test
async def test_settings_show_the_enabled_providers(api: Api) -> None:
    flags = (await api.get("/settings")).json["external_auth"]
    assert flags == {"facebook": True, "google": True, "instagram": False, "twitter": False, "corp": True,
                     "github": True}


@pytest.mark.gen_test
async def test_a_social_user_has_no_password_until_it_sets_one(api: Api, fake_providers: FakeProviders) -> None:
    for password in (PASSWORD, "not a real password", ""):  # the dummy hash's password opens nothing either
        assert_error(await api.login(password=password or "x"), 401, "auth/invalid-credentials")
    plain = (await google(api, fake_providers.id_token())).json["tokens"]["access_token"]
    refused = await api.patch("/user", {"password": "A new password 123"}, token=plain)
    assert_error(refused, 401, "auth/fresh-token-required")
    fresh = (await google(api, fake_providers.id_token(), fresh_token=True)).json["tokens"]["access_token"]
    changed = await api.patch("/user", {"password": "A new password 123"}, token=fresh)
    assert changed.status == 200, changed.body
    assert (await api.login(password="A new password 123")).status == 200


@pytest.mark.gen_test
async def test_an_ec_signed_id_token_is_accepted(api: Api, fake_providers: FakeProviders) -> None:
    key = ec_key("ec-key")
    fake_providers.keys.append(key)
    assert (await google(api, fake_providers.id_token(key=key))).status == 200


def forged(fake: FakeProviders, kind: str) -> str:
    now = int(time.time())
    if kind == "wrong-audience":
        return fake.id_token(aud="someone-elses-app")
    if kind == "several-audiences-foreign-azp":
        return fake.id_token(aud=[CLIENT_ID, "someone-elses-app"], azp="someone-elses-app")
    if kind == "wrong-issuer":
        return fake.id_token(iss=fake.issuer + "/other")
    if kind == "expired":
        return fake.id_token(iat=now - 1000, exp=now - 500)
    if kind == "issued-in-the-future":
        return fake.id_token(iat=now + 600, exp=now + 900)
    if kind == "no-subject":
        return fake.id_token(sub=None)
    if kind == "bad-signature":  # a stranger's key under the provider's kid
        return fake.id_token(key=rsa_key(fake.keys[0].kid))
    if kind == "alg-none":
        header = json.dumps({"alg": "none", "kid": fake.keys[0].kid}).encode()
        unsigned = base64.urlsafe_b64encode(header).rstrip(b"=").decode()
        return f"{unsigned}.{fake.id_token().split('.')[1]}."
    if kind == "hs256-with-public-key":
        public = fake.keys[0].jwk()
        return jwt.encode({"iss": fake.issuer, "aud": CLIENT_ID, "sub": "x", "iat": now, "exp": now + 60},
                          public["n"], algorithm="HS256", headers={"kid": fake.keys[0].kid})
    if kind == "garbage":
        return "not.a.jwt"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["wrong-audience", "several-audiences-foreign-azp", "wrong-issuer", "expired",
                                  "issued-in-the-future", "no-subject", "bad-signature", "alg-none",
                                  "hs256-with-public-key", "garbage"])
@pytest.mark.gen_test
async def test_a_bad_id_token_is_refused(api: Api, fake_providers: FakeProviders, kind: str) -> None:
    assert_error(await google(api, forged(fake_providers, kind)), 401, "auth/provider-token-invalid")


@pytest.mark.gen_test
async def test_the_nonce_must_match_when_one_is_sent(api: Api, fake_providers: FakeProviders) -> None:
    token = fake_providers.id_token(nonce="n-123")
    assert_error(await google(api, token, nonce="n-456"), 401, "auth/provider-token-invalid")
    assert (await google(api, token, nonce="n-123")).status == 200


@pytest.mark.gen_test
async def test_key_rotation_is_picked_up_but_refetches_are_throttled(
        api: Api, fake_providers: FakeProviders, clock: list[float], provider_keys: list[Any]) -> None:
    assert (await google(api, fake_providers.id_token())).status == 200
    assert fake_providers.jwks_hits == 1
    fake_providers.keys = [provider_keys[1]]  # the provider rotates its keys
    rotated = fake_providers.id_token(key=provider_keys[1])
    for _ in range(5):  # within the minute: the unknown kid is refused without asking the provider again
        assert_error(await google(api, rotated), 401, "auth/provider-token-invalid")
    assert fake_providers.jwks_hits == 1
    clock[0] += 61
    assert (await google(api, rotated)).status == 200
    assert fake_providers.jwks_hits == 2
    for n in range(5):  # made-up kids right after: at most one more fetch, never one each
        made_up = fake_providers.id_token(key=provider_keys[1], headers={"kid": f"made-up-{n}"})
        assert_error(await google(api, made_up), 401, "auth/provider-token-invalid")
    assert fake_providers.jwks_hits == 2
    assert (await google(api, rotated)).status == 200  # known keys need no fetch
    assert fake_providers.jwks_hits == 2


@pytest.mark.gen_test
async def test_while_the_jwks_is_down_the_refetch_limit_holds(
        api: Api, fake_providers: FakeProviders, clock: list[float], provider_keys: list[Any]) -> None:
    """Issue 12, item 18: a failed fetch counts as a fetch, so unknown kids do not hammer a provider that is down."""
    assert (await google(api, fake_providers.id_token())).status == 200
    clock[0] += 61  # the keys are due for a refetch when the provider's JWKS goes down
    fake_providers.jwks_down = True
    fake_providers.keys = [provider_keys[0], provider_keys[1]]  # rotated, but nobody can fetch the new key
    rotated = fake_providers.id_token(key=provider_keys[1])
    for n in range(5):
        unknown = fake_providers.id_token(key=provider_keys[1], headers={"kid": f"made-up-{n}"})
        assert_error(await google(api, unknown if n else rotated), 503, "auth/unavailable")
    assert fake_providers.requests["/oidc/jwks"] == 2  # the first sign-in's fetch, and one attempt since
    assert (await google(api, fake_providers.id_token())).status == 200  # known keys keep working meanwhile
    clock[0] += 61
    fake_providers.jwks_down = False
    assert (await google(api, rotated)).status == 200
    assert fake_providers.requests["/oidc/jwks"] == 3


@pytest.mark.gen_test(timeout=30)
async def test_concurrent_unknown_kids_share_one_fetch_and_answer_within_the_timeout(
        api: Api, fake_providers: FakeProviders, clock: list[float], provider_keys: list[Any]) -> None:
    """Issue 12, item 18: with a hanging JWKS, requests used to queue behind each other's fetch (n timeouts)."""
    assert (await google(api, fake_providers.id_token())).status == 200  # discovery and keys cached
    clock[0] += 61
    fake_providers.delay = 3  # slower than SOCIAL_HTTP_TIMEOUT_SECONDS (1 s here)
    tokens = [fake_providers.id_token(key=provider_keys[1], headers={"kid": f"new-{n}"}) for n in range(8)]
    started = time.monotonic()
    answers = await asyncio.gather(*(google(api, token) for token in tokens))
    elapsed = time.monotonic() - started
    for answer in answers:
        assert_error(answer, 503, "auth/unavailable")
    assert fake_providers.requests["/oidc/jwks"] == 2  # one fetch for all eight
    assert elapsed < 4, f"{elapsed:.1f} s: the requests queued behind one another's fetch"


@pytest.mark.gen_test
async def test_requests_that_cannot_be_served(api: Api, fake_providers: FakeProviders) -> None:
    assert_error(await api.post("/login/myspace", {"id_token": "x"}), 404, "auth/provider-not-found")
    assert_error(await api.post("/login/instagram", {"access_token": "x"}), 404, "auth/provider-not-found")
    assert_error(await api.post("/login/google", {"access_token": "x"}), 400, "auth/missing-field")
    assert_error(await api.post("/login/github", {"id_token": "x"}), 400, "auth/missing-field")
    assert_error(await api.post("/login/google", {"id_token": {"$ne": ""}}), 400, "auth/invalid-field")


# --- Facebook and GitHub access tokens -------------------------------------------------------------------


@pytest.mark.gen_test
async def test_facebook_tokens_are_checked_against_our_app_id(api: Api, fake_providers: FakeProviders) -> None:
    fake_providers.facebook_tokens["fb-good"] = {"app_id": CLIENT_ID, "id": "fb-1", "name": "Fay Book",
                                                 "email": "fay@example.com"}
    fake_providers.facebook_tokens["fb-other-app"] = {"app_id": "another-app", "id": "fb-2", "name": "X"}
    good = await api.post("/login/facebook", {"access_token": "fb-good"})
    assert good.status == 200, good.body
    assert good.json["name"] == "Fay Book" and good.json["email_verified"] is False  # Facebook asserts nothing
    assert_error(await api.post("/login/facebook", {"access_token": "fb-other-app"}), 401,
                 "auth/provider-token-invalid")
    assert_error(await api.post("/login/facebook", {"access_token": "fb-unknown"}), 401,
                 "auth/provider-token-invalid")


@pytest.mark.gen_test
async def test_github_tokens_are_checked_with_github(api: Api, fake_providers: FakeProviders) -> None:
    fake_providers.github_tokens["gh-good"] = {"app": CLIENT_ID, "id": 7, "login": "octo", "name": None,
                                               "emails": [{"email": "octo@example.com", "primary": True,
                                                           "verified": True}]}
    fake_providers.github_tokens["gh-other-app"] = {"app": "another-app", "id": 8, "login": "x"}
    good = await api.post("/login/github", {"access_token": "gh-good"})
    assert good.status == 200, good.body
    assert good.json["name"] == "octo" and good.json["email"] == "octo@example.com"
    assert good.json["email_verified"] is True
    assert_error(await api.post("/login/github", {"access_token": "gh-other-app"}), 401,
                 "auth/provider-token-invalid")


# --- linking rules ---------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_a_verified_email_links_to_a_verified_account(api: Api, fake_providers: FakeProviders,
                                                            services: Services) -> None:
    assert (await api.signup()).status == 200
    await verify_email(services, "omar@quazi.co")
    uid = (await api.login()).json["uid"]
    linked = await google(api, fake_providers.id_token())
    assert linked.status == 200 and linked.json["uid"] == uid
    tokens = linked.json["tokens"]
    identities = await api.get("/user/identities", token=tokens["access_token"])
    assert [item["provider"] for item in identities.json["identities"]] == ["google"]


@pytest.mark.parametrize("account_verified, provider_verified", [(False, True), (True, False), (False, False)])
@pytest.mark.gen_test
async def test_no_takeover_through_an_unverified_email(api: Api, fake_providers: FakeProviders, services: Services,
                                                       account_verified: bool, provider_verified: bool) -> None:
    assert (await api.signup()).status == 200
    if account_verified:
        await verify_email(services, "omar@quazi.co")
    refused = await google(api, fake_providers.id_token(email="OMAR@quazi.co", email_verified=provider_verified))
    assert_error(refused, 409, "auth/account-exists")
    assert await services.social.identities.find("google", "subject-1") is None


@pytest.mark.gen_test
async def test_apple_style_string_booleans_and_missing_emails(api: Api, fake_providers: FakeProviders) -> None:
    unverified = await google(api, fake_providers.id_token(sub="s-2", email="two@example.com",
                                                           email_verified="false"))
    assert unverified.json["email_verified"] is False
    no_email = await google(api, fake_providers.id_token(sub="s-3", email=None, email_verified=None, name=None))
    assert no_email.status == 200, no_email.body
    assert no_email.json["email"].endswith("@users.invalid") and no_email.json["email_verified"] is False


# --- identities ------------------------------------------------------------------------------------------


@pytest.mark.gen_test
async def test_the_last_way_to_sign_in_cannot_be_unlinked(api: Api, fake_providers: FakeProviders) -> None:
    access = (await google(api, fake_providers.id_token())).json["tokens"]["access_token"]
    assert_error(await api.request("DELETE", "/user/identities/google", token=access), 409,
                 "auth/last-sign-in-method")
    # The same verified address from GitHub links to this (verified) social account.
    fake_providers.github_tokens["gh"] = {"app": CLIENT_ID, "id": 9, "login": "omar", "emails": [
        {"email": "omar@quazi.co", "primary": True, "verified": True}]}
    assert (await api.post("/login/github", {"access_token": "gh"})).status == 200
    listed = (await api.get("/user/identities", token=access)).json["identities"]
    assert sorted(item["provider"] for item in listed) == ["github", "google"]
    unlinked = await api.request("DELETE", "/user/identities/google", token=access)
    assert unlinked.status == 200 and unlinked.json["code"] == "auth/identity-unlinked"
    assert_error(await api.request("DELETE", "/user/identities/google", token=access), 404,
                 "auth/identity-not-found")
    assert_error(await api.request("DELETE", "/user/identities/github", token=access), 409,
                 "auth/last-sign-in-method")
    assert_error(await api.get("/user/identities"), 401, "auth/token-missing")


@pytest.mark.gen_test
async def test_two_concurrent_unlinks_cannot_remove_the_last_way_in(api: Api, fake_providers: FakeProviders,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No password, two identities, both unlinked at once: exactly one succeeds, one identity stays.

    A slow database (each listing takes 50 ms) makes both requests count before either deletes, as a real
    MongoDB round trip can; without the per-user lock both would see two identities and both would delete."""
    listing = IdentityStore.list

    async def slow_list(self: IdentityStore, uid: str) -> Any:
        found = await listing(self, uid)
        await asyncio.sleep(0.05)
        return found

    monkeypatch.setattr(IdentityStore, "list", slow_list)
    access = (await google(api, fake_providers.id_token())).json["tokens"]["access_token"]
    fake_providers.github_tokens["gh"] = {"app": CLIENT_ID, "id": 9, "login": "omar", "emails": [
        {"email": "omar@quazi.co", "primary": True, "verified": True}]}
    assert (await api.post("/login/github", {"access_token": "gh"})).status == 200
    results = await asyncio.gather(api.request("DELETE", "/user/identities/google", token=access),
                                   api.request("DELETE", "/user/identities/github", token=access))
    assert sorted(result.status for result in results) == [200, 409], [result.body for result in results]
    assert {result.json["code"] for result in results} == {"auth/identity-unlinked", "auth/last-sign-in-method"}
    left = (await api.get("/user/identities", token=access)).json["identities"]
    assert len(left) == 1


@pytest.mark.gen_test
async def test_a_user_with_a_password_may_unlink_every_identity(api: Api, fake_providers: FakeProviders,
                                                               services: Services) -> None:
    assert (await api.signup()).status == 200
    await verify_email(services, "omar@quazi.co")
    access = (await google(api, fake_providers.id_token())).json["tokens"]["access_token"]
    assert (await api.request("DELETE", "/user/identities/google", token=access)).status == 200
    assert (await api.get("/user/identities", token=access)).json == {"identities": [], "status": "success"}


# --- an unreachable provider -----------------------------------------------------------------------------


@pytest.mark.parametrize("trouble", ["down", "slow"])
@pytest.mark.gen_test(timeout=15)
async def test_an_unreachable_provider_is_a_quick_503(api: Api, fake_providers: FakeProviders, trouble: str) -> None:
    fake_providers.facebook_tokens["fb"] = {"app_id": CLIENT_ID, "id": "1", "name": "F"}
    if trouble == "down":
        fake_providers.down = True
    else:
        fake_providers.delay = 3  # SOCIAL_HTTP_TIMEOUT_SECONDS is 1 here
    for path, body in (("/login/google", {"id_token": fake_providers.id_token()}),
                       ("/login/facebook", {"access_token": "fb"})):
        started = time.monotonic()
        response = await api.post(path, body)
        assert time.monotonic() - started < 2.5
        assert_error(response, 503, "auth/unavailable")
        assert int(response.headers["Retry-After"]) >= 1
