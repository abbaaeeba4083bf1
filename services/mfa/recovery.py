"""Recovery codes: ten single-use codes for the day the second factor is lost, shown once and stored only hashed.

A code is 10 characters of Crockford's base32 alphabet (no look-alikes) (50 random bits), written `xxxxx-xxxxx`;
typed with or without the dash, in any case. Each set has a salt of its own and every code is hashed with scrypt
(RFC 7914) under it: one hash per attempt finds the code among the set's hashes in one MongoDB query, and a copy
of the database gives no code back without 2^50 scrypt runs. Using a code removes its hash in one conditional
update, so two requests with the same code cannot both succeed. A new set replaces the old one whole.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from concurrent.futures import Executor

from services.mfa.store import FactorStore

COUNT = 10
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o or u to misread
_LENGTH = 10
# scrypt with N=2^12, r=8: 4 MiB and a few milliseconds a hash; the codes' 50 bits do the rest.
_SCRYPT = {"n": 2**12, "r": 8, "p": 1, "dklen": 32}


def normalize(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


class RecoveryCodes:
    def __init__(self, *, store: FactorStore, executor: Executor | None = None) -> None:
        self._store = store
        self._executor = executor

    async def issue(self, uid: str) -> list[str]:
        """A new set of codes for the user, replacing any earlier set; the codes themselves are never stored."""
        codes = ["".join(secrets.choice(ALPHABET) for _ in range(_LENGTH)) for _ in range(COUNT)]
        salt = secrets.token_hex(16)
        hashes = [await self._hash(code, salt) for code in codes]
        await self._store.replace_codes(uid, salt, hashes)
        return [f"{code[:5]}-{code[5:]}" for code in codes]

    async def left(self, uid: str) -> int:
        known = await self._store.code_salt(uid)
        return known[1] if known else 0

    async def use(self, uid: str, code: str) -> bool:
        """True once for each code of the user's set; a wrong, used or malformed code is False."""
        typed = normalize(code)
        known = await self._store.code_salt(uid)
        if known is None or len(typed) != _LENGTH or any(char not in ALPHABET for char in typed):
            return False
        return await self._store.use_code(uid, await self._hash(typed, known[0]))

    async def _hash(self, code: str, salt: str) -> str:
        def run() -> str:
            return hashlib.scrypt(code.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex()

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)
