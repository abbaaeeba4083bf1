"""Password hashing and policy.

bcrypt only looks at the first 72 bytes of its input, and the bcrypt package refuses longer ones. We
never truncate: the password is first reduced with HMAC-SHA256 keyed by the bcrypt salt (the scheme
passlib calls bcrypt_sha256 v2), so every byte counts and the input to bcrypt is always 44 bytes.
Hashing costs tens to hundreds of milliseconds of CPU; it runs in an executor, never on the event loop.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from concurrent.futures import Executor

import bcrypt

from services.outcomes import WEAK_PASSWORD, AuthError

_PREFIX = "$bcrypt-sha256$v=2,"


def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of real breaches, as zxcvbn ships them (NIST 800-63B §5.1.1.2)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


class PasswordPolicy:
    """Length and a blocklist, no composition rules: what NIST SP 800-63B and OWASP ASVS 2.1 ask for."""

    def __init__(self, min_length: int, max_length: int, blocklist: frozenset[str] = frozenset()) -> None:
        self.min_length = min_length
        self.max_length = max_length
        self._blocklist = blocklist

    def check(self, password: str, *context: str) -> None:
        """`context` holds the user's own words (email, name): a password equal to one of them is refused."""
        if len(password) < self.min_length:
            raise AuthError(WEAK_PASSWORD, f"The password must be at least {self.min_length} characters long.")
        if len(password) > self.max_length:
            raise AuthError(WEAK_PASSWORD, f"The password must be at most {self.max_length} characters long.")
        if not password.strip():
            raise AuthError(WEAK_PASSWORD, "The password must not be only spaces.")
        folded = password.strip().lower()
        if folded in self._blocklist:
            raise AuthError(WEAK_PASSWORD, "This password is one of the most common passwords; choose another.")
        own_words = {word.strip().lower() for value in context for word in (value, value.split("@")[0]) if word}
        if folded in own_words:
            raise AuthError(WEAK_PASSWORD, "The password must not be your email address or name.")


class PasswordHasher:
    def __init__(self, cost: int, executor: Executor | None = None) -> None:
        self._cost = cost
        self._executor = executor
        # Unknown emails are checked against this, so a miss costs what a wrong password costs.
        self._dummy_hash = self._hash_sync("not a real password")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._hash_sync, password)

    async def verify(self, password: str, stored: str | None) -> bool:
        """Constant work whether or not an account exists: a missing or empty hash checks the dummy one."""
        target = stored or self._dummy_hash
        ok = await asyncio.get_running_loop().run_in_executor(self._executor, self._verify_sync, password, target)
        # An empty hash is an account without a password (social sign-in): no password opens it, not even the
        # dummy one's, and it costs what a wrong password costs.
        return ok and bool(stored)

    def _hash_sync(self, password: str) -> str:
        salt = bcrypt.gensalt(self._cost)
        digest = bcrypt.hashpw(_prehash(password, salt), salt)
        return _PREFIX + digest.decode()

    @staticmethod
    def _verify_sync(password: str, stored: str) -> bool:
        if not stored.startswith(_PREFIX):
            return False
        digest = stored[len(_PREFIX):].encode()
        salt = digest[:29]
        try:
            return bcrypt.checkpw(_prehash(password, salt), digest)
        except ValueError:
            return False


def _prehash(password: str, salt: bytes) -> bytes:
    mac = hmac.new(salt, password.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(mac)
