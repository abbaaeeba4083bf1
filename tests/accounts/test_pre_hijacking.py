"""Account pre-hijacking (issue 12, item 2), the five attacks of Sudhodanan and Paverd, "Pre-hijacked accounts:
An Empirical Study of Security Failures in User Account Creation on the Web" (USENIX Security 2022), played
over HTTP: an attacker who knows only the victim's address prepares an account before the victim arrives, and
must have no way in once the victim has proven the address (a reset or a verification link).
"""

from __future__ import annotations

from typing import Any

import pytest
from support.api import Api, assert_error, assert_revoked, login_tokens
from support.mail import SmtpServer, mail_settings, settle
from support.providers import CLIENT_ID, FakeProviders, social_settings

from services.social import ProviderIdentity
from services.wiring import Services

VICTIM = "victim@quazi.co"
ATTACKER = "attacker@evil.example"
ATTACKER_PASSWORD = "Attacker's own passphrase 99"
VICTIM_PASSWORD = "The victim's new passphrase 31"


@pytest.fixture
def settings(fake_providers: FakeProviders, base_url: str, mailbox: SmtpServer,
             request: pytest.FixtureRequest) -> dict[str, Any]:
    return {**social_settings(fake_providers, base_url), **mail_settings(mailbox), **getattr(request, "param", {})}


async def attacker_signs_up(api: Api) -> dict[str, str]:
    """The classic route with the victim's address: the attacker knows the password, not the mailbox."""
    assert (await api.signup(email=VICTIM, password=ATTACKER_PASSWORD, name="Mallory")).status == 200
    return await login_tokens(api, email=VICTIM, password=ATTACKER_PASSWORD)


async def victim_resets(api: Api, mailbox: SmtpServer) -> None:
    assert (await api.post("/password/forgot", {"email": VICTIM})).status == 200
    token = (await mailbox.mail(VICTIM, "Reset")).token("reset-password")
    reset = await api.post("/password/reset", {"token": token, "password": VICTIM_PASSWORD})
    assert reset.status == 200, reset.body


async def victim_verifies(api: Api, mailbox: SmtpServer) -> None:
    """The victim follows the verification link the attacker's sign-up mailed them."""
    token = (await mailbox.mail(VICTIM, "Confirm your email")).token("verify-email")
    assert (await api.post("/verify", {"token": token})).status == 200


async def google(api: Api, fake: FakeProviders, **claims: Any) -> Any:
    return await api.post("/login/google", {"id_token": fake.id_token(**claims)})


@pytest.mark.gen_test(timeout=30)
async def test_classic_federated_merge_needs_the_proof_and_then_leaves_the_attacker_out(
        api: Api, mailbox: SmtpServer, fake_providers: FakeProviders) -> None:
    """Attacker: password account with the victim's address. Victim: signs in with a provider for that address."""
    attacker = await attacker_signs_up(api)
    assert_error(await google(api, fake_providers, email=VICTIM), 409, "auth/account-exists")  # no merge yet
    await victim_resets(api, mailbox)
    merged = await google(api, fake_providers, email=VICTIM)
    assert merged.status == 200 and merged.json["email"] == VICTIM
    await assert_revoked(api, attacker)
    assert_error(await api.login(email=VICTIM, password=ATTACKER_PASSWORD), 401, "auth/invalid-credentials")


@pytest.mark.gen_test(timeout=30)
async def test_unexpired_session_ends_when_the_victim_verifies_the_address(api: Api, mailbox: SmtpServer) -> None:
    """Attacker: keeps a session of the account alive. Victim: proves the address with the link mailed to them."""
    attacker = await attacker_signs_up(api)
    await victim_verifies(api, mailbox)
    await assert_revoked(api, attacker)
    notice = await mailbox.mail(VICTIM, "is confirmed")
    assert "logged out" in notice.text and "/forgot-password" in notice.text


@pytest.mark.gen_test(timeout=30)
async def test_unexpired_session_ends_when_the_victim_resets_the_password(api: Api, mailbox: SmtpServer) -> None:
    attacker = await attacker_signs_up(api)
    await victim_resets(api, mailbox)
    await assert_revoked(api, attacker)


@pytest.mark.gen_test(timeout=30)
async def test_trojan_identifier_cannot_be_linked_to_an_unproven_address(
        api: Api, mailbox: SmtpServer, fake_providers: FakeProviders) -> None:
    """Attacker: links a provider account of their own to the pre-made account, to sign in with it later."""
    attacker = await attacker_signs_up(api)
    refused = await api.post("/user/identities/google", {"redirect_to": "https://app.example.com/signed-in"},
                             token=attacker["access_token"])
    assert_error(refused, 403, "auth/email-not-verified")
    await victim_resets(api, mailbox)
    victim = await login_tokens(api, email=VICTIM, password=VICTIM_PASSWORD)
    started = await api.post("/user/identities/google", {"redirect_to": "https://app.example.com/signed-in"},
                             token=victim["access_token"])
    assert started.status == 200, started.body  # proven: the owner links what they like


@pytest.mark.gen_test(timeout=30)
async def test_trojan_identifier_linked_before_the_proof_is_removed_by_it(
        api: Api, mailbox: SmtpServer, fake_providers: FakeProviders, services: Services) -> None:
    """As an earlier version let it happen: the attacker's identity is on the account when the victim recovers it."""
    await attacker_signs_up(api)
    user = await services.users.find_by_email(VICTIM)
    trojan = ProviderIdentity(provider="google", subject="attacker-sub", email=ATTACKER, email_verified=True,
                              name="Mallory")
    await services.social.identities.link(user.uid, trojan)
    assert (await google(api, fake_providers, sub="attacker-sub", email=ATTACKER)).json["uid"] == user.uid
    await victim_resets(api, mailbox)
    assert await services.social.identities.list(user.uid) == []
    notice = await mailbox.mail(VICTIM, "password was changed")
    assert "sign-in with google is no longer linked" in notice.text
    after = await google(api, fake_providers, sub="attacker-sub", email=ATTACKER)
    assert after.status == 200 and after.json["uid"] != user.uid  # the attacker's Google is an account of its own


@pytest.mark.gen_test(timeout=30)
async def test_a_reset_removes_an_identity_someone_linked_to_a_verified_account_too(
        api: Api, mailbox: SmtpServer, fake_providers: FakeProviders, services: Services) -> None:
    """The owner takes back an account that someone held for a while: the provider they linked goes too."""
    assert (await api.signup(email=VICTIM)).status == 200
    await victim_verifies(api, mailbox)
    user = await services.users.find_by_email(VICTIM)
    await services.social.identities.link(user.uid, ProviderIdentity(
        provider="google", subject="attacker-sub", email=ATTACKER, email_verified=True, name="Mallory"))
    await victim_resets(api, mailbox)
    assert await services.social.identities.list(user.uid) == []
    assert (await google(api, fake_providers, sub="attacker-sub", email=ATTACKER)).json["uid"] != user.uid
    # A provider that vouches for the account's own address links itself again at its next sign-in.
    owner = await google(api, fake_providers, sub="victim-sub", email=VICTIM)
    assert owner.status == 200 and owner.json["uid"] == user.uid


@pytest.mark.gen_test(timeout=30)
async def test_unexpired_email_change_cannot_complete_after_the_victim_recovers(
        api: Api, mailbox: SmtpServer) -> None:
    """Attacker: asks to move the pre-made account to their own address, and confirms only later."""
    await attacker_signs_up(api)
    fresh = await login_tokens(api, email=VICTIM, password=ATTACKER_PASSWORD, fresh=True)
    assert (await api.patch("/user", {"email": ATTACKER}, token=fresh["access_token"])).status == 200
    later = (await mailbox.mail(ATTACKER, "Confirm your new")).token("confirm-email-change")
    await victim_resets(api, mailbox)
    assert ATTACKER in (await mailbox.mail(VICTIM, "password was changed")).text
    assert_error(await api.post("/email-change/confirm", {"token": later}), 400, "auth/link-invalid")
    me = await login_tokens(api, email=VICTIM, password=VICTIM_PASSWORD)
    assert (await api.get("/user", token=me["access_token"])).json["email"] == VICTIM


@pytest.mark.gen_test(timeout=30)
async def test_unexpired_email_change_is_dropped_by_a_verification_too(api: Api, mailbox: SmtpServer) -> None:
    await attacker_signs_up(api)
    fresh = await login_tokens(api, email=VICTIM, password=ATTACKER_PASSWORD, fresh=True)
    assert (await api.patch("/user", {"email": ATTACKER}, token=fresh["access_token"])).status == 200
    later = (await mailbox.mail(ATTACKER, "Confirm your new")).token("confirm-email-change")
    await victim_verifies(api, mailbox)
    assert_error(await api.post("/email-change/confirm", {"token": later}), 400, "auth/link-invalid")


@pytest.mark.gen_test(timeout=30)
async def test_a_non_verifying_provider_does_not_give_the_account_the_address(
        api: Api, mailbox: SmtpServer, fake_providers: FakeProviders, services: Services) -> None:
    """Attacker: signs in through a provider that does not vouch for the address (Facebook, or an OIDC issuer
    without `email_verified`). The victim's address stays free, so the victim's own sign-up is the victim's."""
    fake_providers.facebook_tokens["fb-attacker"] = {"app_id": CLIENT_ID, "id": "fb-1", "name": "Mallory",
                                                     "email": VICTIM}
    via_facebook = await api.post("/login/facebook", {"access_token": "fb-attacker"})
    via_oidc = await google(api, fake_providers, sub="unverified-sub", email=VICTIM, email_verified=False)
    for signed_in in (via_facebook, via_oidc):
        assert signed_in.status == 200, signed_in.body
        assert signed_in.json["email"].endswith("@users.invalid") and signed_in.json["email_verified"] is False
    assert (await api.signup(email=VICTIM, password=VICTIM_PASSWORD)).status == 200
    victim = await api.login(email=VICTIM, password=VICTIM_PASSWORD)
    assert victim.status == 200 and victim.json["uid"] not in {via_facebook.json["uid"], via_oidc.json["uid"]}
    again = await api.post("/login/facebook", {"access_token": "fb-attacker"})
    assert again.json["uid"] == via_facebook.json["uid"]  # the attacker stays in the attacker's own account
    await settle(services.mail.outbox)
    assert [mail.to for mail in mailbox.received] == [VICTIM]  # only the victim's own verification mail


@pytest.mark.gen_test(timeout=30)
async def test_a_placeholder_account_proves_an_address_of_its_own_with_a_fresh_sign_in(
        api: Api, mailbox: SmtpServer, fake_providers: FakeProviders) -> None:
    signed_in = await google(api, fake_providers, email=VICTIM, email_verified=False)
    tokens = signed_in.json["tokens"]
    # Nobody reads the placeholder, so only a fresh sign-in vouches for a change.
    assert_error(await api.patch("/user", {"email": VICTIM}, token=tokens["access_token"]), 401,
                 "auth/fresh-token-required")
    fresh = await api.post("/login/google", {"id_token": fake_providers.id_token(email=VICTIM, email_verified=False),
                                             "fresh_token": True})
    assert (await api.patch("/user", {"email": VICTIM}, token=fresh.json["tokens"]["access_token"])).status == 200
    token = (await mailbox.mail(VICTIM, "Confirm your new")).token("confirm-email-change")
    done = await api.post("/email-change/confirm", {"token": token})
    assert (done.status, done.json["code"]) == (200, "auth/email-change-completed")
    again = await google(api, fake_providers, email=VICTIM, email_verified=False)
    assert (again.json["uid"], again.json["email"], again.json["email_verified"]) == (
        signed_in.json["uid"], VICTIM, True)
