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

from services.errors import WEAK_PASSWORD, AuthError

_PREFIX = "$bcrypt-sha256$v=2,"


class PasswordPolicy:
    def __init__(self, min_length: int, max_length: int) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def check(self, password: str) -> None:
        if len(password) < self.min_length:
            raise AuthError(WEAK_PASSWORD, f"The password must be at least {self.min_length} characters long.")
        if len(password) > self.max_length:
            raise AuthError(WEAK_PASSWORD, f"The password must be at most {self.max_length} characters long.")
        if not password.strip():
            raise AuthError(WEAK_PASSWORD, "The password must not be only spaces.")


class PasswordHasher:
    def __init__(self, cost: int, executor: Executor | None = None) -> None:
        self._cost = cost
        self._executor = executor
        # Unknown emails are checked against this, so a miss costs what a wrong password costs.
        self._dummy_hash = self._hash_sync("not a real password")

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._hash_sync, password)

    async def verify(self, password: str, stored: str | None) -> bool:
        """Constant work whether or not an account exists: a missing hash checks the dummy one."""
        target = stored or self._dummy_hash
        ok = await asyncio.get_running_loop().run_in_executor(self._executor, self._verify_sync, password, target)
        return ok and stored is not None

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
