"""Signing keys on disk: `<kid>.key` (private, PEM) beside `<kid>.pub` (public, PEM), the seed's layout.

A pair signs and verifies. A lone `<kid>.pub` only verifies: that is what a retired key becomes
(`<kid>.key` is renamed `<kid>.key.retired`, so it can be restored) and how a machine trusts keys that
another machine signs with. Everything here is blocking file and crypto work: call it from an executor.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

log = logging.getLogger("auth.keys")

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
RETIRED_SUFFIX = ".key.retired"
MIN_RSA_BITS = 2048
# A PEM key of any supported kind is a few kilobytes; anything far larger in the folder is not a key, and is not read.
MAX_KEY_FILE_BYTES = 64 * 1024
# What cryptography raises for a file it cannot use: not PEM, a key it cannot parse, an algorithm it lacks.
_UNPARSABLE = (ValueError, TypeError, UnsupportedAlgorithm)


class KeyFileError(ValueError):
    """A key file cannot be used: unreadable, not PEM, an unsupported type, or not matching its pair."""


@dataclass(frozen=True)
class LoadedKey:
    """One parsed key, ready for PyJWT: parsing PEM costs milliseconds, so it happens once per file change."""

    kid: str
    alg: str
    public_key: PublicKeyTypes
    public_pem: str
    private_key: PrivateKeyTypes | None
    modified_ns: int

    @property
    def can_sign(self) -> bool:
        return self.private_key is not None


def algorithm_for(public_key: PublicKeyTypes) -> str:
    """The one algorithm a key may be used with (RFC 8725 §3.1: never trust the token's `alg` alone)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise KeyFileError(f"RSA key of {public_key.key_size} bits; at least {MIN_RSA_BITS} are required")
        return "RS256"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise KeyFileError(f"EC curve {public_key.curve.name} is not supported; use P-256 (ES256)")
        return "ES256"
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    raise KeyFileError(f"unsupported key type {type(public_key).__name__}")


def is_valid_kid(kid: str) -> bool:
    """Kids name files, so only a plain, short name is accepted (no paths, no dots)."""
    return 0 < len(kid) <= 64 and all(ch.isalnum() or ch in "-_" for ch in kid)


def scan(folder: Path) -> dict[str, tuple[int, ...]]:
    """A cheap fingerprint of every kid's files (mtime and size), to tell when something changed.

    A missing folder holds no keys; one that cannot be listed (a file, no permission) raises OSError. An entry
    that vanishes while it is looked at (a pair being rotated by another process) is simply not there this time."""
    fingerprints: dict[str, list[int]] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return {}
    for entry in entries:
        for suffix in (PRIVATE_SUFFIX, PUBLIC_SUFFIX):
            kid = entry.name[: -len(suffix)]
            if not entry.name.endswith(suffix) or not is_valid_kid(kid):
                continue
            try:
                if not entry.is_file():
                    continue
                stat = entry.stat()
            except OSError:
                continue
            fingerprints.setdefault(kid, [0, 0, 0, 0])
            offset = 0 if suffix == PRIVATE_SUFFIX else 2
            fingerprints[kid][offset:offset + 2] = [stat.st_mtime_ns, stat.st_size]
    return {kid: tuple(values) for kid, values in fingerprints.items() if values[2]}


def load(folder: Path, kid: str) -> LoadedKey:
    """Parse `<kid>.pub` and, when present, `<kid>.key`, and check that the two belong together.

    Whatever is wrong with either file (unreadable, not ASCII, not PEM, a key we do not accept) raises KeyFileError
    naming the file, so the key ring can skip this pair and load the others."""
    public_path = folder / f"{kid}{PUBLIC_SUFFIX}"
    private_path = folder / f"{kid}{PRIVATE_SUFFIX}"
    public_pem, modified_ns = _read_pem(public_path)
    try:
        public_key = serialization.load_pem_public_key(public_pem.encode())
    except _UNPARSABLE as exc:
        raise KeyFileError(f"{public_path.name}: {exc}") from None
    alg = algorithm_for(public_key)
    private_key = None
    if private_path.exists():
        private_pem, private_modified_ns = _read_pem(private_path)
        try:
            private_key = serialization.load_pem_private_key(private_pem.encode(), password=None)
        except _UNPARSABLE as exc:
            raise KeyFileError(f"{private_path.name}: {exc}") from None
        if _public_der(private_key.public_key()) != _public_der(public_key):  # type: ignore[arg-type]
            raise KeyFileError(f"{private_path.name} and {public_path.name} are not a pair")
        modified_ns = max(modified_ns, private_modified_ns)
    return LoadedKey(kid=kid, alg=alg, public_key=public_key, public_pem=public_pem.strip(),
                     private_key=private_key, modified_ns=modified_ns)


def _read_pem(path: Path) -> tuple[str, int]:
    """A PEM file's text and modification time, read from one open file (so both are of the same version).

    PEM is ASCII (RFC 7468 §2): a byte beyond it (a Latin-1 comment, a binary file) makes the file unusable rather
    than an error of the whole ring."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
            modified_ns = os.fstat(handle.fileno()).st_mtime_ns
    except OSError as exc:
        raise KeyFileError(f"{path.name}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path.name}: larger than {MAX_KEY_FILE_BYTES} bytes, not a key")
    try:
        return data.decode("ascii"), modified_ns
    except UnicodeDecodeError as exc:
        raise KeyFileError(f"{path.name}: byte {exc.start} is not ASCII, and PEM is ASCII text (RFC 7468)") from None


def generate(folder: Path, alg: str = "RS256") -> str:
    """Write a new pair and return its kid. The public half lands first, so no reader sees a lone private key."""
    private_key: PrivateKeyTypes
    if alg == "RS256":
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        private_key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise KeyFileError(f"cannot generate keys for {alg}")
    folder.mkdir(parents=True, exist_ok=True)
    kid = secrets.token_hex(16)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_atomically(folder / f"{kid}{PUBLIC_SUFFIX}", public_pem, mode=0o644)
    _write_atomically(folder / f"{kid}{PRIVATE_SUFFIX}", private_pem, mode=0o600)
    return kid


def retire(folder: Path, kid: str) -> None:
    """Stop signing with `kid` but keep verifying its tokens: the private half is set aside, not deleted."""
    if not is_valid_kid(kid):
        raise KeyFileError(f"{kid!r} is not a key id")
    private_path = folder / f"{kid}{PRIVATE_SUFFIX}"
    if not (folder / f"{kid}{PUBLIC_SUFFIX}").exists():
        raise KeyFileError(f"no key {kid} in {folder}")
    if not private_path.exists():
        raise KeyFileError(f"key {kid} is already retired or verify-only")
    private_path.rename(folder / f"{kid}{RETIRED_SUFFIX}")


def _public_der(public_key: PublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write beside the target and rename, so the reloader never reads half a key."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
