"""Leaving and being shown the door: DELETE /user, GET /user/export, disabled accounts.

Pictures are on the real S3 API here, so a deletion is checked where it matters: in the bucket.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.api import PASSWORD, Api, assert_error, assert_revoked, login_tokens
from support.mail import RecordingNotifier
from support.pictures import png
from support.s3 import MotoServer, bucket_keys, s3_settings

from services.wiring import Services

EMAIL = "omar@quazi.co"


@pytest.fixture
def settings(moto_server: MotoServer, bucket: str) -> dict[str, Any]:
    return s3_settings(moto_server, bucket)


async def with_picture(api: Api, token: str) -> None:
    response = await api.request("PUT", "/user/avatar", body=png((64, 64)), token=token)
    assert response.status == 200, response.body


async def redis_keys_of(services: Services, uid: str) -> list[str]:
    return [key async for key in services.redis.scan_iter(match=f"auth:{{{uid}}}:*")]


# --- DELETE /user ----------------------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_deletion_needs_a_fresh_token(api: Api, moto_server: MotoServer, bucket: str) -> None:
    tokens = await api.signed_up_tokens()
    await with_picture(api, tokens["access_token"])
    assert_error(await api.request("DELETE", "/user", token=tokens["access_token"]), 401,
                 "auth/fresh-token-required")
    refreshed = (await api.post("/refresh", {"token": tokens["refresh_token"]})).json["access_token"]
    assert_error(await api.request("DELETE", "/user", token=refreshed), 401, "auth/fresh-token-required")
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    assert len(bucket_keys(moto_server, bucket)) == 1


@pytest.mark.redis_cluster_too  # the per-user epoch, in a cluster too
@pytest.mark.gen_test(timeout=30)
async def test_deletion_leaves_no_object_session_user_or_redis_key(api: Api, moto_server: MotoServer, bucket: str,
                                                                   services: Services,
                                                                   notifier: RecordingNotifier) -> None:
    other_device = await api.signed_up_tokens()
    await with_picture(api, other_device["access_token"])
    fresh = await login_tokens(api, fresh=True)
    uid = (await api.get("/user", token=fresh["access_token"])).json["uid"]
    assert await redis_keys_of(services, uid)  # epoch, two sessions and their index
    # Another user's things are not touched.
    neighbour = await api.signed_up_tokens(email="neighbour@example.com")
    await with_picture(api, neighbour["access_token"])
    [neighbour_key] = [key for key in bucket_keys(moto_server, bucket)
                       if key in (await api.get("/user", token=neighbour["access_token"])).json["picture"]]

    response = await api.request("DELETE", "/user", token=fresh["access_token"])
    assert response.status == 200, response.body
    assert response.json == {"code": "auth/account-deleted", "status": "success",
                             "message": "Your account and everything stored with it are deleted."}

    assert bucket_keys(moto_server, bucket) == [neighbour_key]
    assert await services.users.find_by_uid(uid) is None
    assert await redis_keys_of(services, uid) == []
    for tokens in (other_device, fresh):  # every token of the user fails at once, on every device
        await assert_revoked(api, tokens)
    assert_error(await api.login(), 401, "auth/invalid-credentials")
    assert notifier.deleted == [(EMAIL, "Omar Quazi")]
    assert (await api.get("/user", token=neighbour["access_token"])).status == 200
    # The address is free again: a new account, with a new uid.
    assert (await api.signup()).status == 200
    assert (await api.login()).json["uid"] != uid


@pytest.mark.gen_test(timeout=30)
async def test_a_failing_notifier_does_not_undo_or_fail_the_deletion(api: Api, services: Services,
                                                                     notifier: RecordingNotifier,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(email: str, name: str) -> None:
        raise ConnectionError("mail server down")

    monkeypatch.setattr(notifier, "account_deleted", broken)
    await api.signed_up_tokens()
    fresh = await login_tokens(api, fresh=True)
    assert (await api.request("DELETE", "/user", token=fresh["access_token"])).status == 200
    assert await services.users.find_by_email(EMAIL) is None


class TestStorageDown:
    @pytest.fixture
    def settings(self, own_s3: MotoServer) -> dict[str, Any]:
        own_s3.client().create_bucket(Bucket="leaving")
        return {**s3_settings(own_s3, "leaving"), "storage_timeout_seconds": 1}

    @pytest.mark.gen_test(timeout=30)
    async def test_while_the_picture_store_is_down_nothing_is_deleted(self, api: Api, own_s3: MotoServer,
                                                                      services: Services) -> None:
        tokens = await api.signed_up_tokens()
        await with_picture(api, tokens["access_token"])
        fresh = await login_tokens(api, fresh=True)
        own_s3.stop()
        response = await api.request("DELETE", "/user", token=fresh["access_token"])
        assert_error(response, 503, "auth/unavailable")
        assert "Retry-After" in response.headers
        assert (await api.get("/user", token=tokens["access_token"])).status == 200  # all still there

        own_s3.start()
        assert (await api.request("DELETE", "/user", token=fresh["access_token"])).status == 200
        assert bucket_keys(own_s3, "leaving") == []
        assert await services.users.find_by_email(EMAIL) is None


# --- GET /user/export ------------------------------------------------------------------------------------


@pytest.mark.gen_test(timeout=30)
async def test_export_holds_everything_stored_but_the_password_hash(api: Api, moto_server: MotoServer,
                                                                    bucket: str) -> None:
    first = await api.signed_up_tokens()
    await with_picture(api, first["access_token"])
    second = await login_tokens(api)
    response = await api.get("/user/export", token=second["access_token"])
    assert response.status == 200, response.body
    assert response.headers["Content-Disposition"] == 'attachment; filename="account-export.json"'
    export = response.json
    assert set(export) == {"exported_at", "user", "picture_url", "sessions", "identities", "status"}
    assert export["identities"] == []
    user = export["user"]
    [key] = bucket_keys(moto_server, bucket)
    me = (await api.get("/user", token=second["access_token"])).json
    assert user == {"uid": me["uid"], "email": EMAIL, "name": "Omar Quazi", "email_verified": False,
                    "created_at": int(me["created_at"]), "updated_at": int(me["updated_at"]), "token_epoch": 0,
                    "picture": key, "disabled": False, "email_key": EMAIL, "email_change": None}
    assert "password_hash" not in response.body.decode() and "$bcrypt" not in response.body.decode()
    assert export["picture_url"].partition("?")[0] == me["picture"].partition("?")[0]
    sessions = export["sessions"]
    assert sorted(session["current"] for session in sessions) == [False, True]  # this one and the first login
    assert {"id", "created_at", "last_used_at", "ip", "user_agent", "current"} == set(sessions[0])


# --- disabled accounts -----------------------------------------------------------------------------------


@pytest.mark.redis_cluster_too  # the per-user epoch, in a cluster too
@pytest.mark.gen_test(timeout=30)
async def test_a_disabled_user_cannot_log_in_or_refresh_and_its_tokens_fail_at_once(api: Api,
                                                                                     services: Services) -> None:
    tokens = await api.signed_up_tokens()
    user = await services.accounts.lifecycle.find(EMAIL)
    assert user is not None
    await services.accounts.lifecycle.disable(user)

    await assert_revoked(api, tokens)  # access and refresh token alike: 401 auth/token-revoked
    assert_error(await api.login(), 403, "auth/user-disabled")
    # Only the right password learns that the account is disabled.
    assert_error(await api.login(password=PASSWORD + "x"), 401, "auth/invalid-credentials")
    assert [key for key in await redis_keys_of(services, user.uid) if ":session" in key] == []  # all ended

    await services.accounts.lifecycle.enable(user)
    await assert_revoked(api, tokens)  # enabling does not revive old tokens
    assert (await api.login()).status == 200
