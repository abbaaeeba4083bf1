"""Password hashes of other systems, as users moved in by an import carry them (services/imports/).

A login checks the typed password against the imported hash once, and on success stores our own hash in its place
(PasswordHasher.match answers LEGACY, and PasswordLogin rehashes, conditionally on the hash being unchanged). Until
then the imported hash is kept as it came:

- bcrypt: `$2a$`, `$2b$`, `$2y$` (PHP's name for `$2b$`), cost in the hash; as those systems did, only the first
  72 bytes of the password count (bcrypt's own limit);
- argon2id (and argon2i): the PHC string `$argon2id$v=19$m=...,t=...,p=...$salt$hash`, verified by argon2-cffi;
- Django: `pbkdf2_sha256$<iterations>$<salt>$<base64>`, `scrypt$<n>$<salt>$<r>$<p>$<base64>`,
  `argon2$argon2id$...`, `bcrypt$<bcrypt hash>` and `bcrypt_sha256$<bcrypt hash of the SHA-256 hex digest>`;
- Werkzeug: `pbkdf2:sha256:<iterations>$<salt>$<hex>` and `scrypt:<n>:<r>:<p>$<salt>$<hex>`.

`check_imported` refuses a hash it cannot verify, or whose cost would let one login take seconds of CPU (an
import line is refused rather than a login stalled later). Comparisons are constant-time (hmac.compare_digest).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

import bcrypt
from argon2 import PasswordHasher as Argon2Hasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PBKDF2_ITERATIONS = 5_000_000
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024  # 128 * n * r bytes
MAX_ARGON2_MEMORY_KIB = 1024 * 1024
MAX_BCRYPT_COST = 16
_BCRYPT = re.compile(r"^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$")
_ARGON2 = re.compile(r"^\$argon2(id|i)\$v=\d+\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")


class UnsupportedHash(ValueError):
    """Not a hash this server can verify (the message says which formats it knows, or which cost is too high)."""


def check_imported(stored: str) -> str:
    """The scheme of an imported hash (`bcrypt`, `argon2`, `django-pbkdf2`, ...), or UnsupportedHash."""
    scheme, _ = _parsed(stored)
    return scheme


def verify_imported(password: str, stored: str) -> bool:
    """Whether `password` is the one `stored` was made from; False, never an exception, for a damaged hash."""
    try:
        return _verify(password.encode("utf-8"), *_parsed(stored))
    except ValueError:  # UnsupportedHash, a bcrypt salt or an scrypt parameter the library refuses
        return False


def _verify(secret: bytes, scheme: str, parts: list[str]) -> bool:
    if scheme in ("bcrypt", "django-bcrypt"):
        return bcrypt.checkpw(secret[:72], _bcrypt_form(parts[0]))
    if scheme == "django-bcrypt-sha256":
        return bcrypt.checkpw(hashlib.sha256(secret).hexdigest().encode(), _bcrypt_form(parts[0]))
    if scheme == "argon2":
        try:
            return Argon2Hasher().verify(parts[0], secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    if scheme == "django-pbkdf2":
        iterations, salt, expected = parts
        derived = hashlib.pbkdf2_hmac("sha256", secret, salt.encode(), int(iterations))
        return hmac.compare_digest(base64.b64encode(derived).decode(), expected)
    if scheme == "werkzeug-pbkdf2":
        iterations, salt, expected = parts
        derived = hashlib.pbkdf2_hmac("sha256", secret, salt.encode(), int(iterations))
        return hmac.compare_digest(derived.hex(), expected)
    if scheme == "django-scrypt":
        salt, n, r, p, expected = parts
        derived = _scrypt(secret, salt, int(n), int(r), int(p), len(base64.b64decode(expected)))
        return hmac.compare_digest(base64.b64encode(derived).decode(), expected)
    salt, n, r, p, expected = parts  # werkzeug-scrypt
    derived = _scrypt(secret, salt, int(n), int(r), int(p), len(expected) // 2)
    return hmac.compare_digest(derived.hex(), expected)


def _scrypt(secret: bytes, salt: str, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(secret, salt=salt.encode(), n=n, r=r, p=p, maxmem=2 * MAX_SCRYPT_MEMORY, dklen=length)


def _bcrypt_form(stored: str) -> bytes:
    return ("$2b$" + stored[4:] if stored.startswith("$2y$") else stored).encode()


def _parsed(stored: str) -> tuple[str, list[str]]:
    if not isinstance(stored, str) or len(stored) > 1024:
        raise UnsupportedHash("password_hash must be a string of at most 1024 characters")
    if stored.startswith("$2"):
        return "bcrypt", [_bcrypt(stored)]
    if stored.startswith("$argon2"):
        return "argon2", [_argon2(stored)]
    if stored.startswith("argon2$"):
        return "argon2", [_argon2(stored.removeprefix("argon2"))]
    if stored.startswith("bcrypt_sha256$"):
        return "django-bcrypt-sha256", [_bcrypt(stored.removeprefix("bcrypt_sha256$"))]
    if stored.startswith("bcrypt$"):
        return "django-bcrypt", [_bcrypt(stored.removeprefix("bcrypt$"))]
    fields = stored.split("$")
    if fields[0] == "pbkdf2_sha256" and len(fields) == 4:
        _iterations(fields[1])
        _base64(fields[3])
        return "django-pbkdf2", fields[1:]
    if fields[0] == "scrypt" and len(fields) == 6:  # Django: scrypt$<n>$<salt>$<r>$<p>$<base64>
        n, salt, r, p, digest = fields[1:]
        _scrypt_cost(n, r, p)
        _base64(digest)
        return "django-scrypt", [salt, n, r, p, digest]
    method = fields[0].split(":")
    if method[:2] == ["pbkdf2", "sha256"] and len(method) == 3 and len(fields) == 3:
        _iterations(method[2])
        _hex(fields[2])
        return "werkzeug-pbkdf2", [method[2], fields[1], fields[2]]
    if method[0] == "scrypt" and len(method) == 4 and len(fields) == 3:
        _scrypt_cost(*method[1:])
        _hex(fields[2])
        return "werkzeug-scrypt", [fields[1], *method[1:], fields[2]]
    raise UnsupportedHash("password_hash is not bcrypt, argon2id, or Django's or Werkzeug's pbkdf2_sha256 or scrypt")


def _bcrypt(stored: str) -> str:
    match = _BCRYPT.match(stored)
    if not match:
        raise UnsupportedHash("not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)")
    if int(match[1]) > MAX_BCRYPT_COST:
        raise UnsupportedHash(f"bcrypt cost above {MAX_BCRYPT_COST}")
    return stored


def _argon2(stored: str) -> str:
    match = _ARGON2.match(stored)
    if not match:
        raise UnsupportedHash("not an argon2 PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash)")
    if int(match[2]) > MAX_ARGON2_MEMORY_KIB or int(match[3]) > 20:
        raise UnsupportedHash("argon2 memory above 1 GiB or more than 20 passes")
    return stored


def _iterations(text: str) -> None:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PBKDF2_ITERATIONS:
        raise UnsupportedHash(f"PBKDF2 iterations must be 1 to {MAX_PBKDF2_ITERATIONS}")


def _scrypt_cost(n: str, r: str, p: str) -> None:
    if not (n.isdigit() and r.isdigit() and p.isdigit()):
        raise UnsupportedHash("scrypt parameters must be numbers")
    cost_n, cost_r, cost_p = int(n), int(r), int(p)
    if cost_n < 2 or cost_n & (cost_n - 1) or not 1 <= cost_r <= 64 or not 1 <= cost_p <= 16:
        raise UnsupportedHash("scrypt n must be a power of two, r 1 to 64, p 1 to 16")
    if 128 * cost_n * cost_r > MAX_SCRYPT_MEMORY:
        raise UnsupportedHash("scrypt needs more than 256 MiB")


def _base64(text: str) -> None:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UnsupportedHash("the hash part is not base64") from None


def _hex(text: str) -> None:
    if not text or len(text) % 2 or any(ch not in "0123456789abcdef" for ch in text):
        raise UnsupportedHash("the hash part is not lower-case hex")
