"""TOTP secrets encrypted at rest: AES-256-GCM (NIST SP 800-38D) with a ring of keys, rotatable.

A sealed value is `v1.<kid>.<base64url(nonce ‖ ciphertext ‖ tag)>`: the key id travels with it, so after a new key
is put first every old value still opens with the key that sealed it, and is sealed again with the new one the next
time it is used (or by `users mfa-rewrap`). The nonce is 96 random bits per seal (SP 800-38D §8.2.2: far below 2^32
seals per key here). The associated data binds a value to its user and factor: a sealed secret copied into another
factor's document does not open there.

The keys come from `MFA_ENCRYPTION_KEYS`, or from a key file (`MFA_ENCRYPTION_KEY_FILE`, by default
`DATA_DIR/mfa-encryption.keys`, made with one new key on first start, readable by its owner only).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.config import ConfigError
from services.infra import create_once

KEY_FILE = "mfa-encryption.keys"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_VERSION = "v1"


class SealedValueError(ValueError):
    """A stored value that no key of the ring opens: a key is missing, or the value was tampered with."""


class SecretBox:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("setting MFA_ENCRYPTION_KEYS must hold at least one key")
        self._current = keys[0][0]
        self._keys = {kid: AESGCM(key) for kid, key in keys}

    @property
    def current_kid(self) -> str:
        return self._current

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._keys[self._current].encrypt(nonce, plaintext, context.encode())
        return f"{_VERSION}.{self._current}.{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, value: str, context: str) -> bytes:
        version, kid, body = [*value.split(".", 2), "", ""][:3]
        cipher = self._keys.get(kid)
        if version != _VERSION or cipher is None:
            raise SealedValueError(f"no key {kid!r} in the MFA key ring")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            return cipher.decrypt(raw[:12], raw[12:], context.encode())
        except (InvalidTag, ValueError, binascii.Error):
            raise SealedValueError("a sealed MFA secret does not open: tampered with, or sealed elsewhere") from None

    def is_current(self, value: str) -> bool:
        """Whether `value` is sealed with the key that seals now (else it is sealed again when next used)."""
        return value.split(".", 2)[1:2] == [self._current]


def parse_keys(entries: tuple[str, ...] | list[str], source: str) -> list[tuple[str, bytes]]:
    """`<kid>:<base64url of 32 bytes>` entries; the first encrypts. A bad one names `source` (exit 2 at start)."""
    keys: list[tuple[str, bytes]] = []
    for entry in entries:
        kid, _, encoded = entry.strip().partition(":")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (ValueError, binascii.Error):
            key = b""
        if not _KID.match(kid) or len(key) != 32:
            raise ConfigError(f"{source}: an entry is not <kid>:<32 bytes in base64url> (kid: letters, digits, - _)")
        if any(kid == known for known, _ in keys):
            raise ConfigError(f"{source}: key id {kid} appears twice")
        keys.append((kid, key))
    return keys


def new_key_entry(kid: str) -> str:
    return f"{kid}:{base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip('=')}"


def load_secret_box(configured: tuple[str, ...], key_file: str, data_dir: Path) -> SecretBox:
    """The ring of `MFA_ENCRYPTION_KEYS`, else of the key file, made there once (start-up I/O)."""
    if configured:
        return SecretBox(parse_keys(configured, "setting MFA_ENCRYPTION_KEYS"))
    path = Path(key_file) if key_file else data_dir / KEY_FILE
    try:
        if not key_file and not path.exists():
            create_once(path, new_key_entry("k1") + "\n")
        lines = [line for line in path.read_text(encoding="ascii").splitlines() if line.strip()
                 and not line.startswith("#")]
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"setting MFA_ENCRYPTION_KEY_FILE {path}: cannot be read ({exc}); set MFA_ENCRYPTION_KEYS "
                          "instead") from None
    return SecretBox(parse_keys(lines, f"MFA key file {path}"))
