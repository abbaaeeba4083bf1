"""The passwordless domain's parts, in two steps: the codes and their delivery rules first (the mail composer makes
sign-in mails with them), the services once accounts exist (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.infra import Outbox
from services.operations import AuditLog
from services.passwordless import (
    SMS_MESSAGES,
    AnonymousAccounts,
    CodeDelivery,
    PasswordlessAccounts,
    PasswordlessSignIn,
    PhoneNumbers,
    SignInCodes,
    SmsMessage,
    SmsSender,
    SmsWorker,
    TextComposer,
    build_sms_sender,
)
from services.social import RedirectAllowList
from services.users import UserStore
from services.wiring.accounts import Accounts
from services.wiring.checks import Checks
from services.wiring.limits import Limits
from services.wiring.mail import Mail
from services.wiring.sessions import Sessions
from services.wiring.social import Social

SMS_RETRY_MAX_SECONDS = 60.0


@dataclass(frozen=True)
class Codes:
    codes: SignInCodes
    delivery: CodeDelivery


@dataclass(frozen=True)
class Passwordless:
    sign_in: PasswordlessSignIn
    phone: PhoneNumbers
    anonymous: AnonymousAccounts
    outbox: Outbox[SmsMessage]
    worker: SmsWorker


def build_codes(*, config: Config, redis: Any, users: UserStore, secret: bytes) -> Codes:
    """`secret`: the server key the codes' HMAC is made under (the audit key: the same on every machine)."""
    codes = SignInCodes(redis=redis, secret=secret, lifetime=config.otp_lifetime, max_attempts=config.otp_max_attempts)
    return Codes(codes=codes, delivery=CodeDelivery(codes=codes, users=users, disable_signup=config.disable_signup))


def build_passwordless(*, config: Config, redis: Any, users: UserStore, codes: Codes, limits: Limits,
                       sessions: Sessions, mail: Mail, social: Social, accounts: Accounts, checks: Checks,
                       audit: AuditLog, sms_sender: SmsSender | None = None) -> Passwordless:
    outbox: Outbox[SmsMessage] = Outbox(
        redis, codec=SMS_MESSAGES, queue="sms", lease_seconds=config.sms_lease_seconds,
        max_attempts=config.sms_max_attempts, retry_base_seconds=config.sms_retry_base_seconds,
        retry_max_seconds=max(SMS_RETRY_MAX_SECONDS, config.sms_retry_base_seconds))
    composer = TextComposer(delivery=codes.delivery, app_name=config.app_name, app_url=config.app_url)
    worker = SmsWorker(outbox=outbox, composer=composer, sender=sms_sender or build_sms_sender(config),
                       send_timeout=config.sms_send_timeout_seconds)
    creator = PasswordlessAccounts(users=users, audit=audit, disable_signup=config.disable_signup)
    sign_in = PasswordlessSignIn(
        codes=codes.codes, accounts=creator, users=users, sessions=sessions.manager, proof=accounts.proof,
        throttle=limits.throttle, mail=mail.outbox, texts=outbox,
        redirects=RedirectAllowList(entries=config.social_redirect_allowlist), captcha=checks.captcha, audit=audit,
        create_user=config.otp_create_user, phone_region=config.phone_default_region)
    phone = PhoneNumbers(users=users, codes=codes.codes, identities=social.identities, throttle=limits.throttle,
                         texts=outbox, mail=mail.outbox, audit=audit, region=config.phone_default_region)
    anonymous = AnonymousAccounts(accounts=creator, users=users, sessions=sessions.manager,
                                  lifecycle=accounts.lifecycle, captcha=checks.captcha, audit=audit,
                                  enabled=config.anonymous_signup)
    return Passwordless(sign_in=sign_in, phone=phone, anonymous=anonymous, outbox=outbox, worker=worker)
