"""Anonymous accounts through the API: off by default, an `is_anonymous` user and claim when on, and an upgrade to a
full account that keeps the uid and every session, by an email and a password, a phone number or a social identity;
`purge-anonymous` deletes the ones never upgraded."""

from __future__ import annotations

import time
import urllib.parse
from typing import Any

import pytest
import tornado.httpclient
from support.api import PASSWORD, Api, assert_error, login_tokens, token_claims
from support.mail import SmtpServer, mail_settings
from support.providers import FakeProviders, social_settings
from support.sms import SmsReceiver, twilio_settings
from support.webauthn import SoftwareAuthenticator

from commands.users import run_purge_anonymous
from services.wiring import Services

NUMBER = "+33612345678"


@pytest.fixture
def settings(mailbox: SmtpServer, fake_twilio: SmsReceiver, fake_providers: FakeProviders, base_url: str,
             request: pytest.FixtureRequest) -> dict[str, Any]:
    return {**mail_settings(mailbox), **twilio_settings(fake_twilio), **social_settings(fake_providers, base_url),
            "anonymous_signup": True, **dict(getattr(request, "param", {}))}


async def anonymous(api: Api) -> dict[str, Any]:
    answer = await api.post("/signup/anonymous")
    assert answer.status == 200, answer.body
    return answer.json


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [{"anonymous_signup": False}], indirect=True)
async def test_anonymous_sign_up_is_off_by_default(settings: dict[str, Any], api: Api) -> None:
    assert_error(await api.post("/signup/anonymous"), 403, "auth/anonymous-signup-disabled")


@pytest.mark.gen_test
async def test_an_anonymous_account_says_so_in_its_answer_user_and_tokens(api: Api) -> None:
    answer = await anonymous(api)
    assert answer["is_anonymous"] is True and answer["email_verified"] is False
    access = answer["tokens"]["access_token"]
    claims = token_claims(access)
    assert claims["is_anonymous"] is True and claims["aal"] == "aal1" and claims["amr"] == []
    user = (await api.get("/user", token=access)).json
    assert user["is_anonymous"] is True and user["uid"] == answer["uid"] and "phone" not in user
    refreshed = await api.refreshed(answer["tokens"]["refresh_token"])
    assert token_claims(refreshed["access_token"])["is_anonymous"] is True
    # Seed users never see the field.
    seed = await api.signed_up_tokens()
    assert "is_anonymous" not in (await api.get("/user", token=seed["access_token"])).json
    assert "is_anonymous" not in token_claims(seed["access_token"])


@pytest.mark.gen_test
async def test_an_email_and_a_password_upgrade_it_keeping_the_uid_and_its_sessions(
        api: Api, services: Services, mailbox: SmtpServer) -> None:
    answer = await anonymous(api)
    tokens = answer["tokens"]
    access = tokens["access_token"]
    assert (await api.patch("/user", {"email": "omar@quazi.co"}, token=access)).json["code"] == "auth/changed-email"
    assert (await api.get("/user", token=access)).status == 200  # the session that asked carries on
    changed = await api.patch("/user", {"password": PASSWORD}, token=access)  # no fresh token to be had
    assert changed.json["code"] == "auth/changed-password", changed.body
    assert (await api.get("/user", token=access)).status == 200  # and carries on again
    link = (await mailbox.mail("omar@quazi.co", "Confirm your new")).token("confirm-email-change")
    done = await api.post("/email-change/confirm", {"token": link})
    assert done.json["code"] == "auth/email-change-completed", done.body
    user = (await api.get("/user", token=access)).json
    assert user["uid"] == answer["uid"] and user["email"] == "omar@quazi.co" and user["email_verified"] is True
    assert "is_anonymous" not in user
    refreshed = await api.refreshed(tokens["refresh_token"])
    assert "is_anonymous" not in token_claims(refreshed["access_token"])
    assert (await api.login()).json["uid"] == answer["uid"]


@pytest.mark.gen_test
async def test_a_phone_number_upgrades_it(api: Api, fake_twilio: SmsReceiver) -> None:
    answer = await anonymous(api)
    access = answer["tokens"]["access_token"]
    assert (await api.patch("/user", {"phone": NUMBER}, token=access)).json["code"] == "auth/phone-code-sent"
    code = (await fake_twilio.text(NUMBER)).code
    assert (await api.post("/user/phone/verify", {"code": code}, token=access)).json["code"] == "auth/phone-verified"
    user = (await api.get("/user", token=access)).json
    assert user["phone"] == NUMBER and "is_anonymous" not in user and user["uid"] == answer["uid"]
    assert (await api.post("/otp", {"phone": NUMBER})).status == 200
    again = await api.post("/otp/verify", {"phone": NUMBER, "code": (await fake_twilio.text(NUMBER, 2)).code})
    assert again.json["uid"] == answer["uid"]


@pytest.mark.gen_test
async def test_a_linked_social_identity_upgrades_it(api: Api, http_client: tornado.httpclient.AsyncHTTPClient,
                                                    fake_providers: FakeProviders) -> None:
    answer = await anonymous(api)
    access = answer["tokens"]["access_token"]
    started = await api.post("/user/identities/google", {"redirect_to": "https://app.example.com/signed-in"},
                             token=access)
    assert started.status == 200, started.body
    cookie = started.headers["Set-Cookie"].split(";")[0]
    consent = await http_client.fetch(started.json["authorize_url"], follow_redirects=False, raise_error=False)
    back = await http_client.fetch(consent.headers["Location"], follow_redirects=False, raise_error=False,
                                   headers={"Cookie": cookie})
    fragment = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back.headers["Location"]).fragment))
    assert fragment["code"] == "auth/identity-linked", fragment
    user = (await api.get("/user", token=access)).json
    assert "is_anonymous" not in user and user["uid"] == answer["uid"]
    signed_in = await api.post("/login/google", {"id_token": fake_providers.id_token()})
    assert signed_in.json["uid"] == answer["uid"]


@pytest.mark.gen_test
async def test_it_may_delete_itself_without_a_fresh_token(api: Api, services: Services) -> None:
    answer = await anonymous(api)
    assert (await api.request("DELETE", "/user", token=answer["tokens"]["access_token"])).status == 200
    assert await services.users.find_by_uid(answer["uid"]) is None


@pytest.mark.gen_test
async def test_purge_deletes_only_old_anonymous_accounts(api: Api, services: Services,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    old, recent, upgraded = await anonymous(api), await anonymous(api), await anonymous(api)
    month_ago = int(time.time()) - 31 * 86_400
    for account in (old, upgraded):
        await services.database["users"].update_one({"_id": account["uid"]}, {"$set": {"created_at": month_ago}})
    await services.users.set_phone(upgraded["uid"], NUMBER)
    assert (await api.signup()).status == 200
    full = await login_tokens(api)
    code = await run_purge_anonymous(services, 30 * 86_400)
    assert code == 0 and "1 anonymous account" in capsys.readouterr().out
    assert await services.users.find_by_uid(old["uid"]) is None
    for kept in (recent, upgraded):
        assert await services.users.find_by_uid(kept["uid"]) is not None
    assert_error(await api.get("/user", token=old["tokens"]["access_token"]), 401, "auth/token-revoked")
    assert (await api.get("/user", token=full["access_token"])).status == 200


@pytest.mark.gen_test
@pytest.mark.parametrize("settings", [{"rate_limit_anonymous_signup": "2/1h"}], indirect=True)
async def test_anonymous_sign_ups_are_limited_per_client_network(settings: dict[str, Any], api: Api) -> None:
    await anonymous(api)
    await anonymous(api)
    refused = await api.post("/signup/anonymous")
    assert_error(refused, 429, "auth/too-many-requests")
    assert int(refused.headers["Retry-After"]) > 0


def test_the_purge_command_reads_its_age_in_days_hours_minutes_or_seconds() -> None:
    from server import _parser

    for written, seconds in (("30d", 30 * 86_400), ("12h", 43_200), ("90m", 5400), ("45s", 45), ("3600", 3600)):
        args = _parser().parse_args(["users", "purge-anonymous", "--older-than", written])
        assert (args.users_command, args.older_than) == ("purge-anonymous", seconds)
    for bad in ("0d", "-1", "soon", "30y"):
        with pytest.raises(SystemExit):
            _parser().parse_args(["users", "purge-anonymous", "--older-than", bad])


@pytest.mark.gen_test(timeout=30)
async def test_a_passkey_makes_an_anonymous_account_a_full_one_keeping_its_uid(api: Api, base_url: str) -> None:
    answer = await anonymous(api)
    access = answer["tokens"]["access_token"]
    options = await api.post("/user/passkeys/options", {"name": "Phone"}, token=access)
    assert options.status == 200, options.body
    app = urllib.parse.urlsplit(base_url)  # APP_URL here (social_settings): its origin is the passkey's
    credential = SoftwareAuthenticator(f"{app.scheme}://{app.netloc}").create(options.json["options"])
    added = await api.post("/user/passkeys", {"challenge_id": options.json["challenge_id"],
                                              "credential": credential}, token=access)
    assert added.status == 200, added.body
    upgraded = added.json["tokens"]["access_token"]
    user = (await api.get("/user", token=upgraded)).json
    assert user["uid"] == answer["uid"] and "is_anonymous" not in user
