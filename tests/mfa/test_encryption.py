"""TOTP secrets sealed at rest (services/mfa/encryption.py): AES-GCM under a ring of keys named in every sealed value,
bound to its user and factor, rotatable; the keys from a setting or a key file made on first start."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from support.api import Api, assert_error, token_claims
from support.mfa import code_for, enrol_totp, verify_totp

from services.config import ConfigError
from services.mfa import SealedValueError, SecretBox, load_secret_box, new_key_entry, parse_keys
from services.wiring import Services


def test_a_sealed_secret_opens_only_in_its_own_context() -> None:
    box = SecretBox(parse_keys([new_key_entry("k1")], "test"))
    sealed = box.seal(b"JBSWY3DPEHPK3PXP", "mfa-totp:u1:f1")
    assert sealed.startswith("v1.k1.") and "JBSWY3DP" not in sealed
    assert box.open(sealed, "mfa-totp:u1:f1") == b"JBSWY3DPEHPK3PXP"
    assert box.seal(b"JBSWY3DPEHPK3PXP", "mfa-totp:u1:f1") != sealed  # a new nonce every time
    with pytest.raises(SealedValueError):
        box.open(sealed, "mfa-totp:u2:f1")  # copied to another user's factor
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealedValueError):
        box.open(tampered, "mfa-totp:u1:f1")


def test_after_a_rotation_old_values_still_open_and_new_ones_use_the_new_key() -> None:
    old_entry = new_key_entry("k1")
    old = SecretBox(parse_keys([old_entry], "test"))
    sealed = old.seal(b"secret", "c")
    rotated = SecretBox(parse_keys([new_key_entry("k2"), old_entry], "test"))
    assert rotated.open(sealed, "c") == b"secret" and not rotated.is_current(sealed)
    assert rotated.seal(b"secret", "c").startswith("v1.k2.")
    without_old = SecretBox(parse_keys([new_key_entry("k2")], "test"))
    with pytest.raises(SealedValueError, match="no key 'k1'"):
        without_old.open(sealed, "c")


@pytest.mark.parametrize("entry", ["k1", "k1:short", "bad kid:" + new_key_entry("x").split(":")[1], ""])
def test_a_malformed_key_is_a_configuration_error(entry: str) -> None:
    with pytest.raises(ConfigError):
        load_secret_box((entry,), "", Path("/nonexistent"))


def test_the_key_file_is_made_once_for_the_owner_only(tmp_path: Path) -> None:
    first = load_secret_box((), "", tmp_path)
    path = tmp_path / "mfa-encryption.keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    sealed = first.seal(b"x", "c")
    assert load_secret_box((), "", tmp_path).open(sealed, "c") == b"x"  # a restart reads the same key
    with pytest.raises(ConfigError, match="MFA_ENCRYPTION_KEY_FILE"):
        load_secret_box((), str(tmp_path / "missing.keys"), tmp_path)  # a named file must exist


@pytest.mark.gen_test
async def test_a_secret_sealed_under_a_key_this_server_lacks_is_a_clear_error(
        api: Api, services: Services, caplog: pytest.LogCaptureFixture) -> None:
    """A machine that made its own key file (the others' keys not copied: docs/deployment.md) cannot open secrets
    sealed elsewhere: a 503 for the client (the operator must act, as without a signing key), and one log line
    that names the settings, not a traceback."""
    tokens = await api.signed_up_tokens(fresh=True)
    secret, enrolled = await enrol_totp(api, tokens["access_token"])
    other = SecretBox(parse_keys([new_key_entry("elsewhere")], "test"))
    uid = token_claims(tokens["access_token"])["sub"]
    sealed = other.seal(secret.encode(), f"mfa-totp:{uid}:{enrolled['factor_id']}")
    await services.database["mfa_factors"].update_one({"_id": enrolled["factor_id"]}, {"$set": {"secret": sealed}})
    aal1 = (await api.login()).json["tokens"]["access_token"]
    caplog.set_level(logging.ERROR, logger="auth.http")
    assert_error(await verify_totp(api, aal1, enrolled["factor_id"], code_for(secret, 1)), 503, "auth/unavailable")
    errors = [record for record in caplog.records if record.name == "auth.http"]
    assert [record.getMessage() for record in errors] == [
        "cannot open a sealed MFA secret: no key 'elsewhere' in the MFA key ring (this server's keys: "
        "MFA_ENCRYPTION_KEYS or MFA_ENCRYPTION_KEY_FILE)"]
    assert errors[0].exc_info is None
