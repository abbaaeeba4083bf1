"""Key files and the key ring: loading, choosing the signer, surviving bad files, hot reload, the CLI."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from support.api import eventually
from support.keys import delete_pair
from support.processes import SERVER, server_environ

from services.tokens import KeyRing, TokenService, keyfiles

PRIVATE_JWK_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def loaded(folder: Path, signing_kid: str = "") -> KeyRing:
    ring = KeyRing(folder, signing_kid=signing_kid)
    asyncio.run(ring.reload())
    return ring


def make_older(folder: Path, kid: str, seconds: int = 60) -> None:
    """Back-date a pair, so which key is "newest" never depends on the file system's clock resolution."""
    stamp = time.time() - seconds
    for path in folder.glob(f"{kid}.*"):
        os.utime(path, (stamp, stamp))


def pem_private(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def pem_public(key: Any) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


# --- files and the ring -----------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_generated_keys_load_with_their_algorithm_and_sign_tokens(tmp_path: Path, alg: str) -> None:
    kid = keyfiles.generate(tmp_path, alg)
    key = keyfiles.load(tmp_path, kid)
    assert (key.kid, key.alg, key.can_sign) == (kid, alg, True)
    assert oct((tmp_path / f"{kid}.key").stat().st_mode & 0o777) == "0o600"
    tokens = TokenService(loaded(tmp_path), issuer="me", audience="us", access_lifetime=60, refresh_lifetime=120)
    issued = tokens.issue("uid-1", "access_token", epoch=0, session_id="s1")
    assert jwt.get_unverified_header(issued.token)["alg"] == alg
    assert tokens.verify(issued.token, "access_token").subject == "uid-1"


def test_the_newest_pair_signs_and_retiring_it_hands_signing_to_the_next(tmp_path: Path) -> None:
    old = keyfiles.generate(tmp_path, "ES256")
    make_older(tmp_path, old)
    new = keyfiles.generate(tmp_path, "EdDSA")
    assert loaded(tmp_path).signing_key.kid == new  # type: ignore[union-attr]

    keyfiles.retire(tmp_path, new)
    ring = loaded(tmp_path)
    assert ring.signing_key.kid == old  # type: ignore[union-attr]
    assert not ring.get(new).can_sign  # type: ignore[union-attr]
    assert new in ring.public_pems()
    assert (tmp_path / f"{new}.key.retired").exists()
    with pytest.raises(keyfiles.KeyFileError, match="already retired"):
        keyfiles.retire(tmp_path, new)


def test_retiring_every_key_leaves_nothing_to_sign_with(tmp_path: Path) -> None:
    kid = keyfiles.generate(tmp_path, "ES256")
    keyfiles.retire(tmp_path, kid)
    ring = loaded(tmp_path)
    assert ring.signing_key is None
    assert set(ring.keys) == {kid}


def test_unchanged_files_are_parsed_once(tmp_path: Path) -> None:
    kid = keyfiles.generate(tmp_path, "ES256")
    ring = loaded(tmp_path)
    key = ring.get(kid)
    assert [asyncio.run(ring.reload()) for _ in range(3)] == [False, False, False]
    assert ring.get(kid) is key
    assert ring.signing_key is key


def test_signing_kid_picks_the_signer_explicitly(tmp_path: Path) -> None:
    old = keyfiles.generate(tmp_path, "ES256")
    make_older(tmp_path, old)
    keyfiles.generate(tmp_path, "ES256")
    assert loaded(tmp_path, signing_kid=old).signing_key.kid == old  # type: ignore[union-attr]
    assert loaded(tmp_path, signing_kid="0" * 32).signing_key is None  # named but missing: never a stand-in
    keyfiles.retire(tmp_path, old)
    assert loaded(tmp_path, signing_kid=old).signing_key is None  # named but verify-only


def _corrupt_pub(folder: Path, kid: str) -> None:
    (folder / f"{kid}.pub").write_text("-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n")


def _truncated_key(folder: Path, kid: str) -> None:
    path = folder / f"{kid}.key"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _mismatched_pair(folder: Path, kid: str) -> None:
    other = keyfiles.generate(folder, "RS256")
    (folder / f"{kid}.key").write_bytes((folder / f"{other}.key").read_bytes())
    delete_pair(folder, other)


def _rsa_1024(folder: Path, kid: str) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point of the test)
    (folder / f"{kid}.key").write_bytes(pem_private(weak))
    (folder / f"{kid}.pub").write_bytes(pem_public(weak.public_key()))


def _ec_p384(folder: Path, kid: str) -> None:
    other_curve = ec.generate_private_key(ec.SECP384R1())
    (folder / f"{kid}.key").write_bytes(pem_private(other_curve))
    (folder / f"{kid}.pub").write_bytes(pem_public(other_curve.public_key()))


def _key_without_pub(folder: Path, kid: str) -> None:
    (folder / f"{kid}.pub").unlink()


SPOILERS: dict[str, Callable[[Path, str], None]] = {
    "corrupt-pub": _corrupt_pub, "truncated-key": _truncated_key, "mismatched-pair": _mismatched_pair,
    "rsa-1024": _rsa_1024, "ec-p384": _ec_p384, "key-without-pub": _key_without_pub,
}


@pytest.mark.parametrize("spoil", sorted(SPOILERS))
def test_a_bad_pair_is_skipped_and_never_takes_the_good_keys_down(tmp_path: Path, spoil: str,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    good = keyfiles.generate(tmp_path, "ES256")
    make_older(tmp_path, good)
    bad = keyfiles.generate(tmp_path, "RS256")  # newer: it would sign if it loaded
    SPOILERS[spoil](tmp_path, bad)
    ring = loaded(tmp_path)
    assert set(ring.keys) == {good}
    assert ring.signing_key.kid == good  # type: ignore[union-attr]
    if (tmp_path / f"{bad}.pub").exists():
        assert any(bad in record.getMessage() for record in caplog.records if record.levelname == "WARNING")


@pytest.mark.parametrize("part", [".key", ".pub"])
def test_a_pair_rewritten_with_garbage_keeps_its_last_good_copy(tmp_path: Path, part: str) -> None:
    kid = keyfiles.generate(tmp_path, "ES256")
    ring = loaded(tmp_path)
    before = ring.get(kid)
    (tmp_path / f"{kid}{part}").write_bytes(b"-----BEGIN half written")
    assert asyncio.run(ring.reload()) is False
    assert ring.get(kid) is before
    assert ring.signing_key is before
    # Once the pair reads well again, the new copy replaces the old.
    replacement = keyfiles.generate(tmp_path, "ES256")
    for suffix in (".key", ".pub"):
        os.replace(tmp_path / f"{replacement}{suffix}", tmp_path / f"{kid}{suffix}")
    assert asyncio.run(ring.reload()) is True
    assert ring.get(kid).public_pem != before.public_pem  # type: ignore[union-attr]


def test_jwks_holds_public_members_only_and_verifies_our_tokens(tmp_path: Path) -> None:
    for alg in ("RS256", "ES256", "EdDSA"):
        keyfiles.generate(tmp_path, alg)
    ring = loaded(tmp_path)
    jwks = ring.jwks()["keys"]
    assert sorted(jwk["alg"] for jwk in jwks) == ["ES256", "EdDSA", "RS256"]
    for jwk in jwks:
        assert not PRIVATE_JWK_MEMBERS & set(jwk), jwk
        key = ring.get(jwk["kid"])
        token = jwt.encode({"sub": "x"}, key.private_key, algorithm=key.alg)  # type: ignore[union-attr,arg-type]
        assert jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]]) == {"sub": "x"}


# --- hot reload while serving -----------------------------------------------------------------------



def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


@pytest.mark.gen_test(timeout=15)
async def test_a_pair_added_while_serving_is_published_and_signs_new_logins(api: Any, keys_dir: Path) -> None:
    first = (await api.signed_up_tokens())["access_token"]
    make_older(keys_dir, kid_of(first))
    added = keyfiles.generate(keys_dir, "ES256")

    async def published() -> bool:
        return added in (await api.get("/settings/keys")).json

    assert await eventually(published)
    login = await api.login()
    assert kid_of(login.json["tokens"]["access_token"]) == added
    assert (await api.get("/settings")).json["alg"] == "ES256"
    assert (await api.get("/user", token=first)).status == 200  # the older key still verifies


@pytest.mark.gen_test(timeout=15)
async def test_deleting_a_pair_ends_its_tokens(api: Any, keys_dir: Path) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    assert (await api.get("/user", token=token)).status == 200  # now in the verified-token cache too
    delete_pair(keys_dir, kid_of(token))

    async def refused() -> bool:
        return (await api.get("/user", token=token)).status == 401

    assert await eventually(refused)
    assert (await api.get("/user", token=token)).json["code"] == "auth/token-invalid"
    assert (await api.get("/settings/keys")).json == {}


@pytest.mark.gen_test(timeout=15)
async def test_tokens_of_a_retired_key_still_verify(api: Any, keys_dir: Path) -> None:
    tokens = await api.signed_up_tokens()
    old = kid_of(tokens["access_token"])
    new = keyfiles.generate(keys_dir, "EdDSA")
    keyfiles.retire(keys_dir, old)

    async def handed_over() -> bool:
        return kid_of((await api.login()).json["tokens"]["access_token"]) == new

    assert await eventually(handed_over)
    assert (await api.get("/user", token=tokens["access_token"])).status == 200
    refreshed = await api.get("/refresh", body=f'{{"token": "{tokens["refresh_token"]}"}}', headers={})
    assert refreshed.status == 200, refreshed.body
    assert kid_of(refreshed.json["access_token"]) == new
    assert old in (await api.get("/settings/keys")).json


# --- the `keys` command -----------------------------------------------------------------------------


def keys_command(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SERVER), "keys", *args], cwd=folder.parent,
                          env=server_environ(JWT_KEYS=str(folder)), capture_output=True, text=True, timeout=60,
                          check=False)


def listing(folder: Path) -> dict[str, tuple[str, str]]:
    result = keys_command(folder, "list")
    assert result.returncode == 0, result.stderr
    return {kid: (alg, state) for kid, alg, state in (line.split() for line in result.stdout.splitlines())}


def test_cli_generates_lists_and_retires_keys(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    first = keys_command(folder, "generate", "--alg", "ES256")
    assert first.returncode == 0, first.stderr
    kid = first.stdout.strip()
    assert keyfiles.load(folder, kid).alg == "ES256"
    assert listing(folder) == {kid: ("ES256", "signing")}

    make_older(folder, kid)
    second = keys_command(folder, "generate", "--alg", "EdDSA").stdout.strip()
    assert listing(folder) == {kid: ("ES256", "active"), second: ("EdDSA", "signing")}

    retired = keys_command(folder, "retire", second)
    assert retired.returncode == 0, retired.stderr
    assert listing(folder) == {kid: ("ES256", "signing"), second: ("EdDSA", "verify-only")}


@pytest.mark.parametrize("kid", ["0" * 32, "../etc/passwd"])
def test_cli_refuses_to_retire_an_unknown_kid(tmp_path: Path, kid: str) -> None:
    folder = tmp_path / "keys"
    keyfiles.generate(folder, "ES256")
    result = keys_command(folder, "retire", kid)
    assert result.returncode == 1
    assert "error:" in result.stderr
    assert [state for _, state in listing(folder).values()] == ["signing"]
