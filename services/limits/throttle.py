"""The configured abuse limits, by name: quotas per client IP and the failed-login lock per account.

Account lock policy (OWASP ASVS 2.2.1): failed logins are counted per account, existing or not, over
`RATE_LIMIT_LOGIN_FAILURES` (10 per 15 minutes). From the limit on, the account refuses logins for
`LOGIN_LOCK_BASE_SECONDS`, doubling with each further failure, never longer than the window, and the
count is forgotten once a window passes without failures. A stranger can therefore slow an account
down but never lock its owner out for good, and the owner is never locked out at all on a device that
still holds a live session of the account: a login that carries that session's token skips the lock,
and a successful login or refresh clears the count.

Pictures: uploads are the costliest requests there are (a decode of up to `PICTURE_MAX_PIXELS`), so they
count per client IP (`RATE_LIMIT_PICTURE`) and per signed-in user (`RATE_LIMIT_PICTURE_USER`): neither many
accounts on one network nor one account from many networks can keep the picture threads busy.

Mail: requests that send mail count per client IP (`RATE_LIMIT_MAIL`), and mails per recipient address
(`RATE_LIMIT_MAIL_ADDRESS`), whether or not an account has that address, so neither a stranger nor
the quota itself can flood an inbox or tell who has an account.
"""

from __future__ import annotations

from typing import Literal

from services.config import Config, Rate
from services.limits.limiter import Decision, RateLimiter
from services.operations import NO_OBSERVER, Observer
from services.outcomes import TOO_MANY_REQUESTS, AuthError

QuotaName = Literal["signup", "token", "mail", "picture"]
UserQuotaName = Literal["picture"]


class Throttle:
    def __init__(self, limiter: RateLimiter, config: Config, observer: Observer = NO_OBSERVER) -> None:
        self._limiter = limiter
        self._observer = observer
        self._quotas: dict[QuotaName, Rate] = {"signup": config.rate_limit_signup, "token": config.rate_limit_token,
                                               "mail": config.rate_limit_mail, "picture": config.rate_limit_picture}
        self._user_quotas: dict[UserQuotaName, Rate] = {"picture": config.rate_limit_picture_user}
        self._mail_address = config.rate_limit_mail_address
        self._failures = config.rate_limit_login_failures
        self._base_lock = config.login_lock_base_seconds

    async def per_ip(self, quota: QuotaName, ip: str) -> Decision:
        """Count one request from `ip`; raises 429 with RateLimit headers when it is over the quota."""
        return await self._enforce(quota, ip, self._quotas[quota])

    async def per_user(self, quota: UserQuotaName, uid: str) -> Decision:
        """Count one request of the signed-in user `uid` (rule `<quota>-user`); 429 past the quota."""
        return await self._enforce(f"{quota}-user", uid, self._user_quotas[quota])

    async def check_account(self, account: str) -> None:
        seconds = await self._limiter.locked_for("login-failures", account)
        if seconds:
            self._observer.rate_limited("login-failures")
            rate = self._failures
            raise AuthError(TOO_MANY_REQUESTS, "Too many failed logins for this account; retry later.", {
                "Retry-After": str(seconds), "RateLimit-Limit": str(rate.limit), "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(seconds), "RateLimit-Policy": f"{rate.limit};w={rate.window}",
            })

    async def login_failed(self, account: str) -> int:
        return await self._limiter.record_failure("login-failures", account, self._failures, self._base_lock)

    async def login_succeeded(self, account: str) -> None:
        await self._limiter.clear("login-failures", account)

    async def mail_to(self, address: str, enforce: bool) -> bool:
        """Count one mail to `address`. Over the quota: 429 when `enforce`, else False (send nothing)."""
        if enforce:
            await self._enforce("mail-address", address, self._mail_address)
            return True
        allowed = (await self._limiter.hit("mail-address", address, self._mail_address)).allowed
        if not allowed:
            self._observer.rate_limited("mail-address")
        return allowed

    async def _enforce(self, rule: str, subject: str, rate: Rate) -> Decision:
        try:
            return await self._limiter.enforce(rule, subject, rate)
        except AuthError as exc:
            if exc.outcome is TOO_MANY_REQUESTS:
                self._observer.rate_limited(rule)
            raise
