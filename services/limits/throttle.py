"""The configured abuse limits, by name: quotas per client network and the failed-login counts per account.

Quotas count per client network (services/limits/networks.py: an IPv4 address, an IPv6 /64), so an IPv6 client
cannot multiply its quota by changing address within the network it was handed.

Account lock policy (OWASP ASVS 2.2.1; services/limits/login_failures.py): each attempt is counted before its
password is checked, per account and client network (`RATE_LIMIT_LOGIN_FAILURES`, 10 per 15 minutes) and per
account overall (`RATE_LIMIT_LOGIN_FAILURES_ACCOUNT`, 100). From a limit on, that network (or, past the
account's ceiling, everyone) is refused for `LOGIN_LOCK_BASE_SECONDS`, doubling with each further failure, never
longer than the window, and a count is forgotten once a window passes without failures. A stranger therefore
locks out only the network he guesses from; the owner is never locked out at all on a device that still holds a
live session of the account (a login that carries its token skips the lock), and the right password, a refresh
or a completed password reset clears the counts of the owner's network and of the account.

Pictures: uploads are the costliest requests there are (a decode of up to `PICTURE_MAX_PIXELS`), so they
count per client network (`RATE_LIMIT_PICTURE`) and per signed-in user (`RATE_LIMIT_PICTURE_USER`): neither many
accounts on one network nor one account from many networks can keep the picture threads busy.

Mail: requests that send mail count per client network (`RATE_LIMIT_MAIL`), and mails per recipient address
(`RATE_LIMIT_MAIL_ADDRESS`), whether or not an account has that address, so neither a stranger nor
the quota itself can flood an inbox or tell who has an account.
"""

from __future__ import annotations

from typing import Literal

from services.config import Config, Rate
from services.limits.limiter import Decision, RateLimiter
from services.limits.login_failures import LoginFailures, Reservation
from services.limits.networks import client_network
from services.operations import NO_OBSERVER, Observer
from services.outcomes import TOO_MANY_REQUESTS, AuthError

QuotaName = Literal["signup", "token", "mail", "picture", "otp", "anonymous"]
UserQuotaName = Literal["picture"]
# Quotas per address or phone number, whether or not an account has it (services/passwordless).
SubjectQuotaName = Literal["sms-number", "otp-verify"]


class Throttle:
    def __init__(self, limiter: RateLimiter, failures: LoginFailures, config: Config,
                 observer: Observer = NO_OBSERVER) -> None:
        self._limiter = limiter
        self._failures = failures
        self._observer = observer
        self._quotas: dict[QuotaName, Rate] = {"signup": config.rate_limit_signup, "token": config.rate_limit_token,
                                               "mail": config.rate_limit_mail, "picture": config.rate_limit_picture,
                                               "otp": config.rate_limit_otp,
                                               "anonymous": config.rate_limit_anonymous_signup}
        self._subject_quotas: dict[SubjectQuotaName, Rate] = {"sms-number": config.rate_limit_sms_number,
                                                              "otp-verify": config.rate_limit_otp_verify}
        self._user_quotas: dict[UserQuotaName, Rate] = {"picture": config.rate_limit_picture_user}
        self._mail_address = config.rate_limit_mail_address
        self._ipv6_prefix = config.rate_limit_ipv6_prefix

    def network(self, ip: str) -> str:
        """The client network `ip` counts as."""
        return client_network(ip, self._ipv6_prefix)

    async def per_ip(self, quota: QuotaName, ip: str) -> Decision:
        """Count one request from `ip`'s network; raises 429 with RateLimit headers when it is over the quota."""
        return await self._enforce(quota, self.network(ip), self._quotas[quota])

    async def reserve_login(self, account: str, ip: str, past_lock: bool = False) -> Reservation:
        """Count a login attempt before its password is checked, unless a lock refuses it (`lock` then says why)."""
        reservation = await self._failures.reserve(account, self.network(ip), past_lock)
        if reservation.lock is not None:
            self._observer.rate_limited("login-failures" if reservation.lock.scope == "network"
                                        else "login-failures-account")
        return reservation

    async def per_user(self, quota: UserQuotaName, uid: str) -> Decision:
        """Count one request of the signed-in user `uid` (rule `<quota>-user`); 429 past the quota."""
        return await self._enforce(f"{quota}-user", uid, self._user_quotas[quota])

    async def per_subject(self, quota: SubjectQuotaName, subject: str) -> Decision:
        """Count one request about `subject` (an address or number, hashed in the key); 429 past the quota."""
        return await self._enforce(quota, subject, self._subject_quotas[quota])

    async def network_failed(self, ip: str) -> None:
        """A failed login from `ip`'s network, whatever the account (read by `/login`'s CAPTCHA rule)."""
        await self._failures.network_failed(self.network(ip))

    async def network_failures(self, ip: str) -> int:
        return await self._failures.network_failures(self.network(ip))

    async def login_abandoned(self, account: str, ip: str) -> None:
        """A reserved attempt an outage cut short before its verdict: it counts as no failure."""
        await self._failures.give_back(account, self.network(ip))

    async def login_succeeded(self, account: str, ip: str) -> None:
        """The owner proved themselves from `ip` (the password, a sign-in code, a password reset; a refresh proves
        only a session): clear the counts of that network and of the account. A guesser's network elsewhere stays
        locked."""
        await self._failures.clear(account, self.network(ip))

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
