"""Writes that landed but reported a failure: each flow ends in a state the user can retry to completion.

MongoDB does not undo a write whose write concern timed out, nor one whose reply was lost on the network: the client
hears 503 and the write is there. The failure is injected at the collection, below the stores, AFTER the write is
done (tests/support/mongo.py `fails_once`), once, as a passing fault; the errors are built as PyMongo builds them.
Then the user retries, and must get what they asked for: no broken avatar, no identity stuck on
`auth/account-exists`, no half-deleted account, no burnt link.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, WTimeoutError
from support.api import PASSWORD, Api, assert_error, assert_revoked
from support.mail import RecordingNotifier, settle
from support.mongo import fails_once
from support.pictures import jpeg, png, webp
from support.providers import FakeProviders, social_settings

from services.config import Config
from services.outcomes import UNAVAILABLE
from services.pictures import service as picture_service
from services.social.provider import ProviderIdentity
from services.wiring import Services

TIMED_OUT = {"code": 64, "codeName": "WriteConcernFailed", "errmsg": "waiting for replication timed out",
             "errInfo": {"wtimeout": True, "writeConcern": {"w": "majority", "wtimeout": 5000}}}
NEW_PASSWORD = "An entirely new password 42"


@pytest.fixture(params=["write-concern-timeout", "network-error-after-the-write"])
def failure(request: pytest.FixtureRequest) -> Exception:
    if request.param == "write-concern-timeout":
        return WTimeoutError(TIMED_OUT["errmsg"], TIMED_OUT["code"], TIMED_OUT)
    return AutoReconnect("connection closed by the server after the write was sent")


@pytest.fixture
def settings(fake_providers: FakeProviders, base_url: str) -> dict[str, Any]:
    return social_settings(fake_providers, base_url)


def inject(monkeypatch: pytest.MonkeyPatch, collection: Any, method: str, error: Exception,
           landed: bool = True) -> None:
    monkeypatch.setattr(collection, method, fails_once(getattr(collection, method), error, landed=landed))


def stored_pictures(config: Config) -> list[str]:
    return sorted(path.name for path in Path(config.upload_folder).rglob("*") if path.is_file())


async def upload(api: Api, token: str, data: bytes) -> Any:
    return await api.request("PUT", "/user/avatar", body=data, token=token, headers={"Content-Type": "image/png"})


@pytest.mark.gen_test(timeout=30)
async def test_a_picture_swap_that_landed_leaves_no_broken_avatar(
        api: Api, services: Services, config: Config, failure: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the new picture was deleted after the 503 while the user record already pointed at it."""
    token = (await api.signed_up_tokens())["access_token"]
    assert (await upload(api, token, png((64, 64)))).status == 200
    inject(monkeypatch, services.users._users, "find_one_and_update", failure)
    assert_error(await upload(api, token, webp((64, 64))), 503, UNAVAILABLE.code)

    shown = (await api.get("/user", token=token)).json["picture"]
    assert (await api.fetch_url(shown)).status == 200  # the avatar the user record names is there
    retried = await upload(api, token, jpeg((64, 64)))
    assert retried.status == 200, retried.body
    assert (await api.fetch_url(retried.json["picture"])).status == 200
    monkeypatch.setattr(picture_service, "SWEEP_GRACE_SECONDS", 0)  # an hour later
    await services.pictures.manager.sweep()
    assert stored_pictures(config) == [retried.json["picture"].rsplit("/", 1)[1]]  # nothing left behind


async def google(api: Api, fake: FakeProviders, subject: str = "no-mail") -> Any:
    return await api.post("/login/google", {"id_token": fake.id_token(sub=subject, email=None, email_verified=None)})


@pytest.mark.parametrize("collection", ["users", "identities"])
@pytest.mark.gen_test(timeout=30)
async def test_a_social_sign_up_without_email_that_landed_signs_in_on_retry(
        api: Api, services: Services, fake_providers: FakeProviders, failure: Exception, collection: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the user made under the identity's placeholder address was found by the retry as "someone else's
    account", and the identity answered `auth/account-exists` for ever."""
    target = services.users._users if collection == "users" else services.social.identities._identities
    inject(monkeypatch, target, "insert_one", failure)
    assert_error(await google(api, fake_providers), 503, UNAVAILABLE.code)

    retried = await google(api, fake_providers)
    assert retried.status == 200, retried.body
    assert (await google(api, fake_providers)).json["uid"] == retried.json["uid"]
    assert await services.users.count() == 1
    assert [identity.provider for identity in await services.social.identities.list(retried.json["uid"])] == [
        "google"]


@pytest.mark.gen_test(timeout=30)
async def test_an_account_deletion_that_landed_completes(
        api: Api, services: Services, notifier: RecordingNotifier, failure: Exception,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the user document was gone, the identities and sessions stayed, no notice went out, and the retry
    could not even authenticate (its user was gone): a half-deleted account."""
    tokens = await api.signed_up_tokens(fresh=True)
    uid = (await api.get("/user", token=tokens["access_token"])).json["uid"]
    await services.social.identities.link(uid, ProviderIdentity(provider="google", subject="s-1", email="omar@quazi.co",
                                                                email_verified=True, name="Omar"))
    inject(monkeypatch, services.users._users, "find_one_and_delete", failure)
    response = await api.request("DELETE", "/user", token=tokens["access_token"])
    assert response.status == 200, response.body

    assert await services.users.find_by_uid(uid) is None
    assert await services.social.identities.list(uid) == []
    assert await services.sessions.manager.list(uid) == []
    await assert_revoked(api, tokens)
    assert notifier.deleted == [("omar@quazi.co", "Omar Quazi")]  # told once, as after any deletion


@pytest.mark.parametrize("landed", [True, False], ids=["landed", "never-arrived"])
@pytest.mark.gen_test(timeout=30)
async def test_a_reset_link_whose_write_failed_still_resets_the_password(
        api: Api, services: Services, failure: Exception, landed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the link was used up before the write, so the retry got `auth/link-used`, and when the write had
    not arrived, the password was never changed: a burnt link."""
    await api.signup()
    user = await services.users.find_by_email("omar@quazi.co")
    link = await services.tokens.links.issue(user, "reset")
    inject(monkeypatch, services.users._users, "find_one_and_update", failure, landed=landed)
    body = {"token": link, "password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD}
    assert_error(await api.post("/password/reset", body), 503, UNAVAILABLE.code)

    retried = await api.post("/password/reset", body)
    assert retried.status == 200, retried.body
    assert (await api.login(password=NEW_PASSWORD)).status == 200
    assert_error(await api.login(password=PASSWORD), 401, "auth/invalid-credentials")
    assert_error(await api.post("/password/reset", body), 410, "auth/link-used")  # single use, once it worked


@pytest.mark.parametrize("landed", [True, False], ids=["landed", "never-arrived"])
@pytest.mark.gen_test(timeout=30)
async def test_a_verification_link_whose_write_failed_still_verifies(
        api: Api, services: Services, failure: Exception, landed: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    await api.signup()
    await settle(services.mail.outbox)  # the sign-up's own mail issues a link too: ours must be the newest
    user = await services.users.find_by_email("omar@quazi.co")
    link = await services.tokens.links.issue(user, "verify")
    inject(monkeypatch, services.users._users, "find_one_and_update", failure, landed=landed)
    assert_error(await api.post("/verify", {"token": link}), 503, UNAVAILABLE.code)

    assert (await api.post("/verify", {"token": link})).status == 200
    assert (await services.users.find_by_email("omar@quazi.co")).email_verified
