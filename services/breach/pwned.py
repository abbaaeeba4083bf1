"""Passwords known from breaches, looked up in Have I Been Pwned's Pwned Passwords range API with k-anonymity.

Only the first 5 hex characters of the password's SHA-1 leave the server (`GET <range>/<PREFIX>`); the API answers
every suffix it knows under that prefix (about 800 of them) and the match is made here, so neither the API nor anyone
watching learns the password or its hash. `Add-Padding: true` makes the API pad each answer with fake suffixes
(count 0, ignored) to a random size, so the size of an answer does not tell which prefix was asked for either.

Answers are kept per prefix (they are public data: no password or full hash is ever kept) for an hour, at most
`CACHE_PREFIXES` of them, so a person retrying a form is not a second call. A service that is down or slower than
`PASSWORD_BREACH_TIMEOUT_SECONDS` counts as unreachable: by default the password is then accepted and a warning
logged (an outage of someone else's service must not block sign-ups); `PASSWORD_BREACH_FAIL_OPEN: false` answers
503 instead.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from typing import Protocol

from services.outcomes import PASSWORD_BREACHED, AuthError, ServiceUnavailable
from services.social import ProviderHttp

log = logging.getLogger("auth.breach")
CACHE_PREFIXES = 512
CACHE_SECONDS = 3600


class BreachCheck(Protocol):
    async def check(self, password: str) -> None:
        """400 `auth/password-breached` when `password` (NFKC-normalised already) is known from a breach."""


class NoBreachCheck:
    """`PASSWORD_BREACH_CHECK: off`: the local list of common passwords is the only one."""

    async def check(self, password: str) -> None:
        return None


class PwnedPasswords:
    def __init__(self, *, url: str, http: ProviderHttp, fail_open: bool) -> None:
        self._url = url if url.endswith("/") else url + "/"
        self._http = http
        self._fail_open = fail_open
        self._ranges: OrderedDict[str, tuple[float, frozenset[str]]] = OrderedDict()

    async def check(self, password: str) -> None:
        digest = hashlib.sha1(password.encode("utf-8")).hexdigest().upper()  # noqa: S324 (the API's own scheme)
        prefix, suffix = digest[:5], digest[5:]
        try:
            known = await self._range(prefix)
        except ServiceUnavailable:
            if not self._fail_open:
                raise
            log.warning("Pwned Passwords unreachable: password accepted without the breach check "
                        "(PASSWORD_BREACH_FAIL_OPEN)")
            return
        if suffix in known:
            raise AuthError(PASSWORD_BREACHED)

    async def _range(self, prefix: str) -> frozenset[str]:
        cached = self._ranges.get(prefix)
        if cached is not None and cached[0] > time.monotonic():
            self._ranges.move_to_end(prefix)
            return cached[1]
        answer = await self._http.get(self._url + prefix, headers={"Add-Padding": "true", "Accept": "text/plain"},
                                      text=True)
        if answer.status != 200 or not isinstance(answer.data, str):
            raise ServiceUnavailable("The breached-password service answered oddly.")
        suffixes = frozenset(suffix for suffix, _, count in (line.strip().partition(":")
                                                             for line in answer.data.splitlines())
                             if len(suffix) == 35 and count.strip() not in ("", "0"))
        self._ranges[prefix] = (time.monotonic() + CACHE_SECONDS, suffixes)
        while len(self._ranges) > CACHE_PREFIXES:
            self._ranges.popitem(last=False)
        return suffixes
