"""The admin users API (issue 17): pages stable under inserts, filters, create with an invitation, every change
visible on the user's very next request, deletion as the user's own, the user's sessions."""

from __future__ import annotations

from typing import Any

import pytest
from support.admin import admin_key, bearer
from support.api import PASSWORD, Api, assert_error, assert_revoked, login_tokens, token_claims
from support.mail import RecordingNotifier, SmtpServer, mail_settings
from support.mfa import enrol_totp

from services.wiring import Services

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def settings(mailbox: SmtpServer) -> dict[str, Any]:
    return mail_settings(mailbox)


async def user_id(api: Api, key: str, email: str) -> str:
    found = await api.get(f"/admin/users?email={email}", **bearer(key))
    assert found.status == 200 and len(found.json["users"]) == 1, found.body
    return str(found.json["users"][0]["uid"])


@pytest.mark.gen_test(timeout=60)
async def test_pages_see_every_user_once_while_others_sign_up(services: Services, api: Api) -> None:
    key = await admin_key(services)
    before = [f"user{n}@example.com" for n in range(7)]
    for email in before:
        assert (await api.signup(email=email)).status == 200
    seen: list[str] = []
    cursor, added = None, 0
    while True:
        query = "/admin/users?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = await api.get(query, **bearer(key))
        assert page.status == 200, page.body
        assert len(page.json["users"]) <= 3
        seen += [user["email"] for user in page.json["users"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
        await api.signup(email=f"late{added}@example.com")  # signs up while the admin pages through
        added += 1
    # Every user who was there is seen, and nobody twice; one who signed up meanwhile comes after the position
    # of every page already read (created_at, then uid: sign-ups of the same second are ordered by their uid).
    assert len(seen) == len(set(seen)) and set(before) <= set(seen)
    assert set(seen) - set(before) <= {f"late{n}@example.com" for n in range(added)}
    assert f"late{added - 1}@example.com" not in seen[:3]
    assert_error(await api.get("/admin/users?cursor=not-ours", **bearer(key)), 400, "auth/invalid-cursor")
    assert_error(await api.get("/admin/users?limit=many", **bearer(key)), 400, "auth/invalid-field")


@pytest.mark.gen_test(timeout=30)
async def test_filters_by_exact_address_or_by_the_start_of_an_address_or_a_name(services: Services,
                                                                             api: Api) -> None:
    key = await admin_key(services)
    await api.signup(email="omar@quazi.co", name="Omar Quazi")
    await api.signup(email="zoe@example.com", name="Zoe (.*) Admin")
    await api.signup(email="omaha@example.com", name="Someone")

    async def emails(query: str) -> list[str]:
        answer = await api.get(f"/admin/users?{query}", **bearer(key))
        assert answer.status == 200, answer.body
        return [user["email"] for user in answer.json["users"]]

    assert await emails("email=Omar@Quazi.co") == ["omar@quazi.co"]
    assert sorted(await emails("query=oma")) == ["omaha@example.com", "omar@quazi.co"]
    assert await emails("query=zoe%20(.*)") == ["zoe@example.com"]  # the query's text, never a pattern
    assert await emails("query=.*") == []
    assert await emails("query=someone") == ["omaha@example.com"]
    assert_error(await api.get("/admin/users?email=not-an-address", **bearer(key)), 400, "auth/invalid-email")


@pytest.mark.gen_test(timeout=30)
async def test_an_account_made_without_a_password_gets_an_invitation_to_choose_one(
        services: Services, api: Api, mailbox: SmtpServer) -> None:
    key = await admin_key(services)
    created = await api.post("/admin/users", {"email": "invited@example.com", "name": "Invited",
                                              "app_metadata": {"roles": ["editor"]}}, **bearer(key))
    assert created.status == 201 and created.json["code"] == "auth/user-created", created.body
    user = created.json["user"]
    assert user["has_password"] is False and user["app_metadata"] == {"roles": ["editor"]}
    assert "password_hash" not in user
    invite = await mailbox.mail("invited@example.com", "invited")
    assert (await api.post("/password/reset", {"token": invite.token("reset-password"),
                                               "password": NEW_PASSWORD})).status == 200
    tokens = await login_tokens(api, "invited@example.com", NEW_PASSWORD)
    assert token_claims(tokens["access_token"])["app_metadata"] == {"roles": ["editor"]}
    me = (await api.get("/user", token=tokens["access_token"])).json
    assert me["app_metadata"] == {"roles": ["editor"]} and me["email_verified"] is True


@pytest.mark.gen_test(timeout=30)
async def test_an_account_made_with_a_password_can_log_in_and_its_address_is_unique(services: Services,
                                                                                   api: Api) -> None:
    key = await admin_key(services)
    body = {"email": "made@example.com", "name": "Made", "password": PASSWORD, "email_verified": True}
    assert (await api.post("/admin/users", body, **bearer(key))).status == 201
    assert (await api.login("made@example.com")).status == 200
    assert_error(await api.post("/admin/users", body, **bearer(key)), 409, "auth/email-already-in-use")
    assert_error(await api.post("/admin/users", {**body, "email": "other@example.com", "password": "password"},
                                **bearer(key)), 400, "auth/weak-password")
    assert_error(await api.post("/admin/users", {**body, "email": "x@example.com", "app_metadata": {"$set": 1}},
                                **bearer(key)), 400, "auth/invalid-metadata")
    assert_error(await api.post("/admin/users", {**body, "email": "y@example.com",
                                                 "user_metadata": {"blob": "x" * 5000}}, **bearer(key)),
                 400, "auth/invalid-metadata")


@pytest.mark.gen_test(timeout=30)
async def test_disabling_ends_every_token_at_once_and_enabling_lets_the_user_back(services: Services,
                                                                                 api: Api) -> None:
    key = await admin_key(services)
    await api.signup()
    tokens = await login_tokens(api)
    uid = await user_id(api, key, "omar@quazi.co")
    changed = await api.patch(f"/admin/users/{uid}", {"disabled": True}, **bearer(key))
    assert changed.status == 200 and changed.json["user"]["disabled"] is True, changed.body
    await assert_revoked(api, tokens)
    assert_error(await api.login(), 403, "auth/user-disabled")
    assert (await api.patch(f"/admin/users/{uid}", {"disabled": False}, **bearer(key))).status == 200
    assert (await api.login()).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_a_new_address_or_password_ends_every_token_and_works_at_the_next_login(
        services: Services, api: Api, mailbox: SmtpServer) -> None:
    key = await admin_key(services)
    await api.signup()
    tokens = await login_tokens(api)
    uid = await user_id(api, key, "omar@quazi.co")
    moved = await api.patch(f"/admin/users/{uid}", {"email": "omar@new.example", "email_verified": True},
                            **bearer(key))
    assert moved.status == 200 and moved.json["user"]["email"] == "omar@new.example", moved.body
    await assert_revoked(api, tokens)
    assert_error(await api.login(), 401, "auth/invalid-credentials")
    tokens = await login_tokens(api, "omar@new.example")
    await mailbox.mail("omar@quazi.co", "changed")  # the old address is told where the account went
    assert (await api.patch(f"/admin/users/{uid}", {"password": NEW_PASSWORD}, **bearer(key))).status == 200
    await assert_revoked(api, tokens)
    assert_error(await api.login("omar@new.example"), 401, "auth/invalid-credentials")
    assert (await api.login("omar@new.example", NEW_PASSWORD)).status == 200
    await api.signup(email="taken@example.com")
    assert_error(await api.patch(f"/admin/users/{uid}", {"email": "taken@example.com"}, **bearer(key)), 409,
                 "auth/email-already-in-use")


@pytest.mark.gen_test(timeout=30)
async def test_metadata_and_name_changes_show_on_the_next_read_and_roles_at_the_next_refresh(
        services: Services, api: Api) -> None:
    key = await admin_key(services)
    await api.signup()
    tokens = await login_tokens(api)
    uid = await user_id(api, key, "omar@quazi.co")
    changes = {"name": "Omar Q", "app_metadata": {"roles": ["admin"], "plan": "pro"},
               "user_metadata": {"theme": "dark"}}
    assert (await api.patch(f"/admin/users/{uid}", changes, **bearer(key))).status == 200
    me = (await api.get("/user", token=tokens["access_token"])).json  # the token in hand still works
    assert (me["name"], me["app_metadata"], me["user_metadata"]) == ("Omar Q", changes["app_metadata"],
                                                                     {"theme": "dark"})
    assert "app_metadata" not in token_claims(tokens["access_token"])
    refreshed = await api.refreshed(tokens["refresh_token"])
    assert token_claims(refreshed["access_token"])["app_metadata"] == {"roles": ["admin"], "plan": "pro"}
    assert (await api.patch(f"/admin/users/{uid}", {"app_metadata": {}}, **bearer(key))).status == 200
    refreshed = await api.refreshed(refreshed["refresh_token"])
    assert "app_metadata" not in token_claims(refreshed["access_token"])
    assert_error(await api.patch(f"/admin/users/{uid}", {"colour": "red"}, **bearer(key)), 400,
                 "auth/nothing-to-change")
    assert_error(await api.patch(f"/admin/users/{uid}", {"disabled": "yes"}, **bearer(key)), 400,
                 "auth/invalid-field")


@pytest.mark.gen_test(timeout=30)
async def test_delete_removes_the_account_as_its_owner_would(services: Services, api: Api,
                                                            notifier: RecordingNotifier) -> None:
    key = await admin_key(services)
    await api.signup()
    tokens = await login_tokens(api)
    uid = await user_id(api, key, "omar@quazi.co")
    deleted = await api.request("DELETE", f"/admin/users/{uid}", **bearer(key))
    assert deleted.status == 200 and deleted.json["code"] == "auth/user-deleted"
    await assert_revoked(api, tokens)
    assert_error(await api.get(f"/admin/users/{uid}", **bearer(key)), 404, "auth/user-not-found")
    assert_error(await api.request("DELETE", f"/admin/users/{uid}", **bearer(key)), 404, "auth/user-not-found")
    assert await services.redis.keys(f"auth:{{{uid}}}:*") == []
    assert notifier.deleted == [("omar@quazi.co", "Omar Quazi")]
    assert (await api.signup()).status == 200  # the address is free again


@pytest.mark.gen_test(timeout=30)
async def test_sessions_are_listed_and_ended_together(services: Services, api: Api) -> None:
    key = await admin_key(services)
    await api.signup()
    first, second = await login_tokens(api), await login_tokens(api)
    uid = await user_id(api, key, "omar@quazi.co")
    listed = await api.get(f"/admin/users/{uid}/sessions", **bearer(key))
    assert listed.status == 200 and len(listed.json["sessions"]) == 2
    assert {token_claims(first["access_token"])["sid"], token_claims(second["access_token"])["sid"]} == {
        session["id"] for session in listed.json["sessions"]}
    ended = await api.request("DELETE", f"/admin/users/{uid}/sessions", **bearer(key))
    assert ended.status == 200 and ended.json["code"] == "auth/sessions-ended"
    await assert_revoked(api, first)
    await assert_revoked(api, second)
    assert (await api.get(f"/admin/users/{uid}/sessions", **bearer(key))).json["sessions"] == []
    missing = "00000000-0000-4000-8000-000000000000"
    assert_error(await api.get(f"/admin/users/{missing}/sessions", **bearer(key)), 404, "auth/user-not-found")


@pytest.mark.gen_test(timeout=60)
async def test_an_admin_resets_a_users_second_factors_and_every_session_ends(services: Services, api: Api,
                                                                              mailbox: SmtpServer) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"])
    assert (await api.login()).json["mfa_required"] is True
    reader, writer = await admin_key(services, "users:read", name="support"), await admin_key(services, name="ops")
    uid = await user_id(api, writer, "omar@quazi.co")
    path = f"/admin/users/{uid}/mfa"
    assert_error(await api.request("DELETE", path, **bearer(reader)), 403, "auth/insufficient-scope")
    assert_error(await api.request("DELETE", path, token=enrolled["tokens"]["access_token"]), 401,
                 "auth/admin-key-required")
    reset = await api.request("DELETE", path, **bearer(writer))
    assert reset.status == 200 and reset.json["code"] == "auth/mfa-reset" and reset.json["factors_removed"] == 1
    await assert_revoked(api, enrolled["tokens"])
    after = await api.login()
    assert after.status == 200 and "mfa_required" not in after.json, after.body
    nobody = "/admin/users/00000000-0000-4000-8000-000000000000/mfa"
    assert_error(await api.request("DELETE", nobody, **bearer(writer)), 404, "auth/user-not-found")
