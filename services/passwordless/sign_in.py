"""Signing in with a code or a magic link (`POST /otp`, `/otp/verify`, `/magic-link/verify` and the page).

Asking for a code does the same work for every address and number: the CAPTCHA, the quotas (per client network in
the handler, per address or number here) and one message queued; whether anything goes out is decided at delivery
(services/passwordless/delivery.py). So the answer, `auth/otp-sent`, and its timing say nothing about accounts.
Checking a code is as blind: a wrong one, one for an address without an account, an expired or a used one all
answer 401 `auth/otp-invalid`, each counted against the address's quota (`RATE_LIMIT_OTP_VERIFY`) and the code's
own attempts (`OTP_MAX_ATTEMPTS`).

A code or link proves its address or number: the account is found, or made if the request allowed it (never
before the code is used), and its session is `aal1` by `otp` (RFC 8176). An address that was not verified is proven
now (services/accounts/proof.py: what was attached to the account before ends), and a password set on it before
the proof is removed: whoever set it never proved the address (a pre-hijacked account).
"""

from __future__ import annotations

from services.accounts import AddressProof
from services.captcha import Captcha
from services.context import Client, TokenPair
from services.infra import Outbox
from services.limits import Throttle
from services.mail import AddressConfirmed, MailMessage, SignInCode
from services.operations import AuditLog
from services.outcomes import (
    INVALID_FIELD,
    LINK_INVALID,
    OTP_INVALID,
    USER_DISABLED,
    AuthError,
    Outcome,
    ServiceUnavailable,
)
from services.passwordless.accounts import PasswordlessAccounts
from services.passwordless.codes import Challenge, SignInCodes, UsedChallenge
from services.passwordless.phones import normalize_phone
from services.passwordless.texts import SignInText, SmsMessage
from services.sessions import SessionService
from services.social import RedirectAllowList
from services.tokens import ONE_TIME_CODE, Assurance
from services.users import User, UserStore, normalize_email

CODE_LOGIN = Assurance.single(ONE_TIME_CODE)


class PasswordlessSignIn:
    def __init__(self, *, codes: SignInCodes, accounts: PasswordlessAccounts, users: UserStore,
                 sessions: SessionService, proof: AddressProof, throttle: Throttle, mail: Outbox[MailMessage],
                 texts: Outbox[SmsMessage], redirects: RedirectAllowList, captcha: Captcha, audit: AuditLog,
                 create_user: bool, phone_region: str) -> None:
        self._codes = codes
        self._accounts = accounts
        self._users = users
        self._sessions = sessions
        self._proof = proof
        self._throttle = throttle
        self._mail = mail
        self._texts = texts
        self._redirects = redirects
        self._captcha = captcha
        self._audit = audit
        self._create_user = create_user
        self._phone_region = phone_region

    async def send(self, email: str | None, phone: str | None, create_user: bool | None, redirect_to: str | None,
                   fresh: bool, client: Client) -> None:
        """Queue a code for an address (with a magic link that returns to `redirect_to`, when allowed) or a number."""
        create = self._create_user if create_user is None else create_user
        channel, destination = self.destination(email, phone)
        target = self._redirects.check(redirect_to) if redirect_to and channel == "email" else ""
        await self._captcha.require(client)
        if channel == "email":
            await self._throttle.mail_to(destination, enforce=True)
            await self._mail.enqueue(SignInCode(email=destination, create_user=create, redirect_to=target,
                                                fresh=fresh))
        else:
            await self._throttle.per_subject("sms-number", destination)
            await self._texts.enqueue(SignInText(phone=destination, create_user=create))

    async def verify_code(self, email: str | None, phone: str | None, code: str, fresh: bool,
                          client: Client) -> tuple[User, TokenPair]:
        channel, destination = self.destination(email, phone)
        await self._throttle.per_subject("otp-verify", f"{channel}:{destination}")
        used = await self._codes.use_code(channel, destination, code)
        return await self._sign_in(used, fresh, client, OTP_INVALID)

    async def check_link(self, token: str | None) -> Challenge:
        """What a magic link would sign in to, while it is usable; it stays unused (the page a GET shows)."""
        return await self._codes.check_link(token)

    async def verify_link(self, token: str | None, fresh: bool | None, client: Client,
                          page: bool = False) -> tuple[User, TokenPair, str]:
        """Sign in with a magic link. For the `page`, also where it sends the browser back to ("" for nowhere),
        checked against the allow-list again, which may have changed since the link was made; an app that opened
        the link itself goes nowhere."""
        used = await self._codes.use_link(token)
        redirect_to = used.challenge.redirect_to if page else ""
        if redirect_to:
            try:
                redirect_to = self._redirects.check(redirect_to)
            except AuthError:
                await self._codes.give_back(used)
                raise
        user, pair = await self._sign_in(used, used.challenge.fresh if fresh is None else fresh, client, LINK_INVALID)
        return user, pair, redirect_to

    def destination(self, email: str | None, phone: str | None) -> tuple[str, str]:
        """("email", the normalised address) or ("phone", the E.164 number): exactly one of them is sent."""
        if (email is None) == (phone is None):
            raise AuthError(INVALID_FIELD, "Send exactly one of 'email' and 'phone'.")
        if email is not None:
            return "email", normalize_email(email)
        return "phone", normalize_phone(phone or "", self._phone_region)

    async def _sign_in(self, used: UsedChallenge, fresh: bool, client: Client,
                       gone: Outcome) -> tuple[User, TokenPair]:
        challenge = used.challenge
        try:
            user = await self._holder(challenge, client, gone)
            if user.disabled:
                self._audit.record("login.disabled", uid=user.uid, ip=client.ip, method="otp")
                raise AuthError(USER_DISABLED)
            if challenge.channel == "email" and not user.email_verified:
                user = await self._prove(user, client)
            await self._throttle.login_succeeded(user.email, client.ip)  # the owner proved it: lift a password lock
            pair, session = await self._sessions.start(user, fresh, client, CODE_LOGIN)
        except ServiceUnavailable:  # nothing was decided: the same code or link works when the person retries
            await self._codes.give_back(used)
            raise
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, fresh=fresh, method="otp",
                           channel=challenge.channel)
        return user, pair

    async def _holder(self, challenge: Challenge, client: Client, gone: Outcome) -> User:
        if challenge.channel == "email":
            user = await self._users.find_by_email(challenge.destination)
        else:
            user = await self._users.find_by_phone(challenge.destination)
        if user is not None:
            return user
        if not challenge.create_user:  # its account is gone since the code went out
            raise AuthError(gone)
        if challenge.channel == "email":
            return await self._accounts.create(client, email=challenge.destination)
        return await self._accounts.create(client, phone=challenge.destination)

    async def _prove(self, user: User, client: Client) -> User:
        """The address was never proven until this code: end what was attached before, and the password whoever
        signed up with it chose (they never proved the address)."""
        removed = user.has_password
        proven = await self._proof.prove(user, {"password_hash": ""} if removed else {}, via="otp", ip=client.ip)
        self._audit.record("email.verified", uid=user.uid, ip=client.ip, via="otp")
        if proven.unlinked or proven.dropped_change or proven.sessions_ended or removed:
            await self._mail.enqueue(AddressConfirmed(uid=user.uid, unlinked=proven.unlinked,
                                                      dropped_change=proven.dropped_change,
                                                      sessions_ended=proven.sessions_ended, password_removed=removed))
        return proven.user
