"""Where `/login` asks for a CAPTCHA: always, or once the account or the client network has failed
`CAPTCHA_LOGIN_FAILURES` times (`CAPTCHA_LOGIN`); and, through the failed-login lock's seam
(services/limits/challenge.py), instead of the lock's "come back later".

A lock that refuses everyone is a denial of service its owner suffers with the guesser (OWASP: prefer a CAPTCHA to a
lockout). With a provider on, an attempt the lock would refuse goes ahead when it carries a solved CAPTCHA, and one
that does not is answered 400 `auth/captcha-failed` ("solve one") instead of 429: the owner solves it and logs in.
The attempt is still counted against the account, so each solved CAPTCHA buys a guesser exactly one guess.
"""

from __future__ import annotations

from services.captcha.verifier import Captcha
from services.context import Client
from services.limits import LoginLock, Throttle
from services.outcomes import CAPTCHA_FAILED, AuthError

LOCKED_MESSAGE = ("Too many failed logins for this account: solve the CAPTCHA and send its token as captcha_token "
                  "to try again.")


class CaptchaLockChallenge:
    """The lock's challenge when a CAPTCHA provider is on: a solved CAPTCHA admits the attempt."""

    def __init__(self, captcha: Captcha) -> None:
        self._captcha = captcha

    async def admits(self, lock: LoginLock, client: Client) -> bool:
        return await self._captcha.passes(client)

    def refusal(self, lock: LoginLock) -> AuthError:
        return AuthError(CAPTCHA_FAILED, LOCKED_MESSAGE)


class LoginCaptcha:
    """Whether a login attempt must carry a solved CAPTCHA before its password is looked at."""

    def __init__(self, *, captcha: Captcha, throttle: Throttle, always: bool, after_failures: int) -> None:
        self._captcha = captcha
        self._throttle = throttle
        self._always = always
        self._after = after_failures

    async def check(self, earlier_failures: int, client: Client) -> None:
        """`earlier_failures`: the account's failed logins before this one (every network). 400
        `auth/captcha-failed` when a CAPTCHA is due and the attempt carries no solved one."""
        if not self._captcha.enabled:
            return
        if (self._always or earlier_failures >= self._after
                or await self._throttle.network_failures(client.ip) >= self._after):
            await self._captcha.require(client)

    async def failed(self, client: Client) -> None:
        """A wrong password from this client: counted for its network, which `check` reads (only with CAPTCHA on)."""
        if self._captcha.enabled and not self._always:
            await self._throttle.network_failed(client.ip)
