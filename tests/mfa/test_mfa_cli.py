"""`python server.py users mfa-reset EMAIL` and `users mfa-rewrap`, run through `run_users_command` on the test's own
services (as tests/accounts/test_users_cli.py does: embedded users live inside one process)."""

from __future__ import annotations

import pytest
from support.api import Api, assert_revoked, token_claims
from support.mfa import enrol_totp

from commands.users import run_users_command
from services.mfa import SecretBox, new_key_entry, parse_keys
from services.wiring import Services


@pytest.mark.gen_test(timeout=30)
async def test_mfa_reset_removes_every_factor_and_ends_the_sessions(api: Api, services: Services,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    _, enrolled = await enrol_totp(api, tokens["access_token"])
    assert await run_users_command(services, "mfa-reset", "omar@quazi.co") == 0
    out = capsys.readouterr().out
    assert "no second factor now (1 removed" in out and "every login it had has ended" in out
    await assert_revoked(api, enrolled["tokens"])
    login = await api.login()
    assert "mfa_required" not in login.json
    listed = (await api.get("/user/mfa", token=login.json["tokens"]["access_token"])).json
    assert listed == {"factors": [], "recovery_codes_left": 0, "status": "success"}
    assert [doc async for doc in services.database["mfa_factors"].find({})] == []


@pytest.mark.gen_test(timeout=30)
async def test_mfa_rewrap_seals_every_secret_with_the_new_first_key(api: Api, services: Services,
                                                                   capsys: pytest.CaptureFixture[str],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    old_kid = services.mfa.box.current_kid
    stored = await services.database["mfa_factors"].find_one({})
    assert stored["secret"].startswith(f"v1.{old_kid}.")
    # The operator puts a new key first; the old one stays to open what it sealed.
    old_keys = services.mfa.box._keys
    rotated = SecretBox(parse_keys([new_key_entry("k2")], "test"))
    rotated._keys.update(old_keys)
    monkeypatch.setattr(services.mfa.factors, "_box", rotated)
    capsys.readouterr()
    assert await run_users_command(services, "mfa-rewrap", None) == 0
    assert capsys.readouterr().out == "1 of 1 TOTP secret(s) sealed again with key k2\n"
    stored = await services.database["mfa_factors"].find_one({})
    assert stored["secret"].startswith("v1.k2.")
    assert token_claims(enrolled["tokens"]["access_token"])["aal"] == "aal2"
    assert secret not in stored["secret"]


@pytest.mark.gen_test(timeout=30)
async def test_mfa_rewrap_without_the_old_key_says_which_one_is_missing(api: Api, services: Services,
                                                                       capsys: pytest.CaptureFixture[str],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    await enrol_totp(api, tokens["access_token"])
    old_kid = services.mfa.box.current_kid
    # The operator put a new key in and dropped the old one too early.
    monkeypatch.setattr(services.mfa.factors, "_box", SecretBox(parse_keys([new_key_entry("k2")], "test")))
    capsys.readouterr()
    assert await run_users_command(services, "mfa-rewrap", None) == 1
    assert capsys.readouterr().err == (f"error: no key {old_kid!r} in the MFA key ring; put that key back in "
                                       "MFA_ENCRYPTION_KEYS (or the key file) and run again\n")
