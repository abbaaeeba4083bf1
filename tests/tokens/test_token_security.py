"""Forged and malformed tokens against GET /user: every one is a 401 with a token code, never a 500.

Forgeries start from a real token the server issued (so they track its header and claims) and are
signed by hand with the key from `keys_dir`, an attacker's key or no key at all. A control test shows
that the unmodified claims, re-signed the same way, are accepted: a refusal below is the server's doing.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm, get_default_algorithms
from support.api import eventually, with_settings

from services.tokens import keyfiles

INVALID = "auth/token-invalid"
EXPIRED = "auth/token-expired"
ATTACKER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64(json.dumps(value).encode())


def sign(header: dict[str, Any], payload: dict[str, Any], key: Any = None, alg: str | None = None) -> str:
    """A compact JWS; `key=None` leaves the signature empty (an unsigned token)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = b"" if key is None else get_default_algorithms()[alg or header["alg"]].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def decode_segment(text: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


@dataclass
class Victim:
    """A signed-up user's real access token, taken apart, plus our signing key read from disk."""

    token: str
    header: dict[str, Any]
    payload: dict[str, Any]
    private_key: Any
    public_pem: bytes

    def resign(self, **payload_changes: Any) -> str:
        """The real header and claims with `payload_changes` (None removes a claim), signed with our key."""
        return self.forge({}, payload_changes)

    def forge(self, header_changes: dict[str, Any], payload_changes: dict[str, Any], key: Any = "ours",
              alg: str | None = None) -> str:
        """`key` is "ours" (the signing key on disk), another private key, or None for no signature."""
        header = {k: v for k, v in {**self.header, **header_changes}.items() if v is not None}
        payload = {k: v for k, v in {**self.payload, **payload_changes}.items() if v is not None}
        return sign(header, payload, self.private_key if key == "ours" else key, alg)


@pytest.fixture
def victim(api: Any, keys_dir: Path, io_loop: Any) -> Victim:
    token = io_loop.run_sync(api.signed_up_tokens)["access_token"]
    header_text, payload_text, _ = token.split(".")
    header = decode_segment(header_text)
    kid = header["kid"]
    private_key = serialization.load_pem_private_key((keys_dir / f"{kid}.key").read_bytes(), password=None)
    return Victim(token, header, decode_segment(payload_text), private_key, (keys_dir / f"{kid}.pub").read_bytes())


async def refused(api: Any, token: str, *codes: str) -> None:
    response = await api.get("/user", token=token)
    assert response.status == 401, (response.status, response.body)
    assert response.json["code"] in (codes or (INVALID,)), response.body


def hs256(victim: Victim, secret: bytes) -> str:
    signing_input = f"{segment({**victim.header, 'alg': 'HS256'})}.{segment(victim.payload)}"
    return f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def attacker_cert() -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ATTACKER_KEY.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(ATTACKER_KEY, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def attacker_jwk() -> dict[str, Any]:
    return RSAAlgorithm.to_jwk(ATTACKER_KEY.public_key(), as_dict=True)


# --- the control: the harness itself produces tokens the server accepts -----------------------------


@pytest.mark.gen_test
async def test_resigned_real_claims_are_accepted(api: Any, victim: Victim) -> None:
    assert (await api.get("/user", token=victim.token)).status == 200
    response = await api.get("/user", token=victim.resign(jti="control-" + victim.payload["jti"]))
    assert response.status == 200, response.body


# --- signing algorithm and key selection -------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.gen_test
async def test_unsigned_tokens_are_refused(api: Any, victim: Victim, alg: str) -> None:
    await refused(api, victim.forge({"alg": alg}, {}, key=None))
    await refused(api, f"{victim.forge({'alg': alg}, {}, key=None)}{victim.token.split('.')[2]}")


@pytest.mark.gen_test
async def test_hs256_signed_with_our_public_key_is_refused(api: Any, victim: Victim) -> None:
    served = (await api.get("/settings/keys")).json[victim.header["kid"]]
    for secret in (victim.public_pem, served.encode(), served.encode() + b"\n"):
        await refused(api, hs256(victim, secret))


@pytest.mark.parametrize("alg", ["PS256", "RS512"])
@pytest.mark.gen_test
async def test_another_rsa_algorithm_with_our_own_key_is_refused(api: Any, victim: Victim, alg: str) -> None:
    await refused(api, victim.forge({"alg": alg}, {}, alg=alg))


@pytest.mark.parametrize("kid", ["0" * 32, "", None, 7, ["x"], {"$ne": ""}, "../../dev/null", "' OR 1=1 --",
                                 'a"b\'c', "../keys/../keys"])
@pytest.mark.gen_test
async def test_unknown_missing_or_injected_kid_is_refused(api: Any, victim: Victim, kid: Any) -> None:
    header = {**victim.header, "kid": kid}
    if kid is None:
        del header["kid"]
    await refused(api, sign(header, victim.payload, victim.private_key))


@pytest.mark.parametrize("make_header", [
    lambda kid: {"kid": kid, "jku": "https://attacker.example/jwks.json"},
    lambda kid: {"kid": kid, "x5u": "https://attacker.example/cert.pem"},
    lambda kid: {"kid": kid, "jwk": attacker_jwk()},
    lambda kid: {"kid": kid, "x5c": [attacker_cert()]},
    lambda kid: {"kid": None, "jwk": attacker_jwk()},
    lambda kid: {"kid": None, "x5c": [attacker_cert()], "jku": "https://attacker.example/jwks.json"},
], ids=["jku", "x5u", "jwk", "x5c", "jwk-without-kid", "x5c-jku-without-kid"])
@pytest.mark.gen_test
async def test_attacker_keys_named_in_the_header_are_never_used(api: Any, victim: Victim,
                                                               make_header: Callable[[str], dict[str, Any]]) -> None:
    await refused(api, victim.forge(make_header(victim.header["kid"]), {}, key=ATTACKER_KEY))


@pytest.mark.gen_test
async def test_crit_header_is_refused_even_with_a_good_signature(api: Any, victim: Victim) -> None:
    await refused(api, victim.forge({"crit": ["exp"]}, {}))
    await refused(api, victim.forge({"crit": []}, {}))


# --- claims ------------------------------------------------------------------------------------------


def _claims_cases() -> dict[str, tuple[dict[str, Any], tuple[str, ...]]]:
    now = int(time.time())
    return {
        "wrong-aud": ({"aud": "someone-else"}, (INVALID,)),
        "aud-list-with-stranger": ({"aud": ["python-jwt-auth", "someone-else"]}, (INVALID,)),
        "wrong-iss": ({"iss": "https://attacker.example"}, (INVALID,)),
        "expired": ({"exp": now - 5}, (EXPIRED,)),
        "nbf-in-the-future": ({"nbf": now + 3600}, (INVALID,)),
        "iat-in-the-future": ({"iat": now + 3600}, (INVALID,)),
        "non-numeric-exp": ({"exp": "tomorrow"}, (INVALID,)),
        "numeric-string-exp": ({"exp": str(now + 600)}, (INVALID,)),
        "huge-exp": ({"exp": 1e30}, (INVALID,)),
        "huge-integer-exp": ({"exp": 10**30}, (INVALID,)),
        "boolean-exp": ({"exp": True}, (INVALID, EXPIRED)),  # PyJWT reads True as 1 (1970)
        "missing-exp": ({"exp": None}, (INVALID,)),
        "missing-sub": ({"sub": None}, (INVALID,)),
        "missing-jti": ({"jti": None}, (INVALID,)),
        "missing-epoch": ({"epoch": None}, (INVALID,)),
        "string-epoch": ({"epoch": "9"}, (INVALID,)),
        "non-string-sub": ({"sub": {"$ne": ""}}, (INVALID,)),
        "data-not-an-object": ({"data": "access_token"}, (INVALID,)),
        "refresh-data-in-access-typ": ({"data": {"type": "refresh_token", "fresh": False}}, (INVALID,)),
        "unknown-data-type": ({"data": {"type": "admin_token", "fresh": True}}, (INVALID,)),
    }


@pytest.mark.parametrize("case", sorted(_claims_cases()))
@pytest.mark.gen_test
async def test_bad_claims_signed_with_our_key_are_refused(api: Any, victim: Victim, case: str) -> None:
    changes, codes = _claims_cases()[case]
    await refused(api, victim.resign(**changes), *codes)


@pytest.mark.parametrize("typ", ["rt+jwt", "JWT", "jwt", None, "at+JWT"])
@pytest.mark.gen_test
async def test_header_typ_must_match_an_access_token(api: Any, victim: Victim, typ: str | None) -> None:
    await refused(api, victim.forge({"typ": typ}, {}))


# --- the token's shape -------------------------------------------------------------------------------


def _mangled(token: str) -> dict[str, str]:
    header, payload, signature = token.split(".")
    claims = decode_segment(payload)
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return {
        "tampered-payload": f"{header}.{segment({**claims, 'sub': 'someone-else'})}.{signature}",
        "tampered-epoch": f"{header}.{segment({**claims, 'epoch': claims['epoch'] + 5})}.{signature}",
        "tampered-signature": f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1:]}",
        "no-signature": f"{header}.{payload}.",
        "two-segments": f"{header}.{payload}",
        "four-segments": f"{token}.{signature}",
        "bad-base64": f"{header}.{payload[:-2]}!*.{signature}",
        "garbage": "!!!.@@@.###",
        "header-not-json": f"{b64(b'not json')}.{payload}.{signature}",
        "header-a-list": f"{b64(b'[1, 2]')}.{payload}.{signature}",
        "one-word": "bearer",
    }


@pytest.mark.parametrize("case", sorted(_mangled("a.eyJlcG9jaCI6IDB9.c")))
@pytest.mark.gen_test
async def test_mangled_tokens_are_refused(api: Any, victim: Victim, case: str) -> None:
    await refused(api, _mangled(victim.token)[case])


@pytest.mark.gen_test
async def test_a_token_over_8_kb_is_refused_even_when_well_signed(api: Any, victim: Victim) -> None:
    await refused(api, victim.resign(padding="x" * 9000))


# --- tokens that were good once ----------------------------------------------------------------------


@pytest.mark.redis_cluster_too  # the per-user epoch and version, in a cluster too
@pytest.mark.gen_test
async def test_token_of_a_deleted_user_is_refused(api: Any, victim: Victim, services: Any) -> None:
    """Deleted through the store, as the API, the CLI and every service delete: refused on the very next request,
    though this process kept a copy of the user (its version changed)."""
    assert (await api.get("/user", token=victim.token)).status == 200
    assert await services.users.delete(victim.payload["sub"]) is not None
    await refused(api, victim.token, "auth/token-revoked")


@pytest.mark.gen_test
@with_settings(user_cache_seconds=0)
async def test_token_of_a_user_deleted_in_mongodb_directly_is_refused_with_no_copies_kept(
        api: Any, victim: Victim, services: Any, settings: dict[str, Any]) -> None:
    assert (await api.get("/user", token=victim.token)).status == 200
    deleted = await services.users._users.delete_one({"_id": victim.payload["sub"]})
    assert deleted.deleted_count == 1
    await refused(api, victim.token, "auth/token-revoked")


@pytest.mark.gen_test(timeout=15)
@with_settings(user_cache_seconds=0.5)
async def test_token_of_a_user_deleted_in_mongodb_directly_is_refused_within_user_cache_seconds(
        api: Any, victim: Victim, services: Any, settings: dict[str, Any]) -> None:
    """Behind the server's back (mongosh): no version changes, so a process's copy serves at most
    USER_CACHE_SECONDS more."""
    assert (await api.get("/user", token=victim.token)).status == 200
    deleted = await services.users._users.delete_one({"_id": victim.payload["sub"]})
    assert deleted.deleted_count == 1
    await asyncio.sleep(0.6)
    await refused(api, victim.token, "auth/token-revoked")


def delete_key_files(folder: Path, kid: str) -> None:
    for path in folder.glob(f"{kid}.*"):
        path.unlink()



@pytest.mark.gen_test(timeout=15)
async def test_token_of_a_retired_then_deleted_key_is_refused(api: Any, victim: Victim, keys_dir: Path,
                                                              services: Any) -> None:
    old_kid = victim.header["kid"]
    keyfiles.generate(keys_dir, "ES256")
    keyfiles.retire(keys_dir, old_kid)

    async def retired() -> bool:
        key = services.tokens.keyring.get(old_kid)
        return key is not None and not key.can_sign

    assert await eventually(retired)
    assert (await api.get("/user", token=victim.token)).status == 200  # retired: still verifies
    delete_key_files(keys_dir, old_kid)

    async def gone() -> bool:
        return old_kid not in (await api.get("/settings/keys")).json

    assert await eventually(gone)
    await refused(api, victim.token)
