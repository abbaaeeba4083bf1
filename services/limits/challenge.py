"""What a login the failed-login lock would refuse may do instead: the seam a CAPTCHA plugs into (issue 16).

A lock that refuses everyone is a denial of service its owner suffers with the guesser: OWASP's advice is to ask
for proof of a person instead of refusing. Until a CAPTCHA provider exists, the one implementation refuses (429,
`Retry-After`); a CAPTCHA implementation admits an attempt that carries a solved challenge and, for one that does
not, answers "solve one" instead of "come back later". An admitted attempt is still counted, so a solved CAPTCHA
buys one guess, never a way around the limits.
"""

from __future__ import annotations

from typing import Protocol

from services.context import Client
from services.limits.login_failures import LoginLock
from services.outcomes import TOO_MANY_REQUESTS, AuthError


class LockChallenge(Protocol):
    async def admits(self, lock: LoginLock, client: Client) -> bool:
        """Whether this attempt goes ahead despite `lock` (it proved a person is behind it)."""

    def refusal(self, lock: LoginLock) -> AuthError:
        """The answer to an attempt `admits` turned away."""


class RefuseLockedLogins:
    """No challenge to offer: a locked login is refused until the lock runs out."""

    async def admits(self, lock: LoginLock, client: Client) -> bool:
        return False

    def refusal(self, lock: LoginLock) -> AuthError:
        return AuthError(TOO_MANY_REQUESTS, "Too many failed logins for this account; retry later.", lock.headers())
