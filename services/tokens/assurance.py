"""How the holder of a session proved who they are: the authenticator assurance level (NIST SP 800-63B §4) and the
authentication methods (RFC 8176 `amr` values), carried by every access token as the `aal` and `amr` claims.

A session keeps its assurance in its record (services/sessions/store.py), so a refresh hands out tokens of the
same level, and a second factor raises the level of the very session it was given in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["aal1", "aal2"]
LEVELS: tuple[Level, ...] = ("aal1", "aal2")
# RFC 8176 §2 values this server issues, plus "fed" for a sign-in a federated identity provider vouched for
# (the value Microsoft's and Okta's tokens use; the registry has none for it).
PASSWORD, ONE_TIME_CODE, HARDWARE_KEY, SOFTWARE_KEY, USER_PRESENCE, MULTIPLE_FACTORS, FEDERATED = (
    "pwd", "otp", "hwk", "swk", "user", "mfa", "fed")
MAX_METHODS = 8


@dataclass(frozen=True)
class Assurance:
    aal: Level = "aal1"
    amr: tuple[str, ...] = ()

    @classmethod
    def single(cls, *methods: str) -> Assurance:
        """A one-factor login: aal1, by these methods."""
        return cls("aal1", tuple(methods))

    def with_second_factor(self, *methods: str) -> Assurance:
        """The same session after a second factor: aal2, its methods added, and `mfa` (RFC 8176: more than one)."""
        added = tuple(method for method in (*methods, MULTIPLE_FACTORS) if method not in self.amr)
        return Assurance("aal2", (*self.amr, *added))

    @classmethod
    def parsed(cls, aal: object, amr: object) -> Assurance | None:
        """From a token's claims or a session record; None when they are not shapes this server issues.

        Tokens and records from before assurance existed carry neither: aal1, methods unknown."""
        if aal is None and amr is None:
            return cls()
        if aal not in LEVELS or not isinstance(amr, list) or len(amr) > MAX_METHODS:
            return None
        if not all(isinstance(method, str) and 0 < len(method) <= 16 and method.isascii() for method in amr):
            return None
        return cls(aal, tuple(amr))  # type: ignore[arg-type]
