"""The accounts domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass

from services.accounts import (
    AccountLifecycle,
    AccountService,
    AddressProof,
    EmailChange,
    EmailVerification,
    PasswordHasher,
    PasswordLogin,
    PasswordPolicy,
    PasswordReset,
    common_passwords,
)
from services.captcha import LoginCaptcha
from services.config import Config
from services.mail import (
    AccountNotifier,
    MailNotifier,
)
from services.operations import AuditLog, Observer
from services.users import UserStore
from services.wiring.checks import Checks
from services.wiring.limits import Limits
from services.wiring.mail import Mail
from services.wiring.mfa import Mfa
from services.wiring.pictures import Pictures
from services.wiring.sessions import Sessions
from services.wiring.social import Social
from services.wiring.tokens import Tokens


@dataclass(frozen=True)
class Accounts:
    manager: AccountService
    password_login: PasswordLogin
    verification: EmailVerification
    recovery: PasswordReset
    lifecycle: AccountLifecycle
    email_change: EmailChange
    hasher: PasswordHasher  # the admin API sets passwords with the same hash and policy
    policy: PasswordPolicy
    proof: AddressProof


def build_accounts(*, config: Config, users: UserStore, tokens: Tokens, limits: Limits, sessions: Sessions,
                   mail: Mail, pictures: Pictures, social: Social, mfa: Mfa, audit: AuditLog, observer: Observer,
                   executor: Executor | None, notifier: AccountNotifier | None,
                   strength_executor: Executor | None = None, checks: Checks | None = None) -> Accounts:
    """`strength_executor` runs zxcvbn's estimates (one thread, serving.py): never the pool bcrypt and logins use."""
    hasher = PasswordHasher(cost=config.bcrypt_cost, executor=executor)
    policy = PasswordPolicy(min_length=config.password_min_length, max_length=config.password_max_length,
                            blocklist=common_passwords(), min_score=config.password_min_score,
                            service_words=(config.app_name,), executor=strength_executor or executor,
                            breaches=checks.breaches if checks else None)
    captcha = checks.captcha if checks else None
    proof = AddressProof(sessions=sessions.manager, identities=social.identities, audit=audit)
    verification = EmailVerification(links=tokens.links, outbox=mail.outbox, throttle=limits.throttle, audit=audit,
                                     proof=proof)
    return Accounts(
        manager=AccountService(users=users, sessions=sessions.manager, hasher=hasher, policy=policy, audit=audit,
                               verification=verification, outbox=mail.outbox, disable_signup=config.disable_signup,
                               verification_required=config.email_verification_required, captcha=captcha),
        password_login=PasswordLogin(users=users, sessions=sessions.manager, authenticator=sessions.authenticator,
                                     hasher=hasher, throttle=limits.throttle, audit=audit,
                                     max_password_length=config.password_max_length,
                                     verification_required=config.email_verification_required, observer=observer,
                                     challenge=limits.lock_challenge,
                                     captcha=LoginCaptcha(captcha=captcha, throttle=limits.throttle,
                                                          always=config.captcha_login == "always",
                                                          after_failures=config.captcha_login_failures)
                                     if captcha else None),
        verification=verification,
        recovery=PasswordReset(links=tokens.links, outbox=mail.outbox, throttle=limits.throttle, proof=proof,
                               hasher=hasher, policy=policy, audit=audit, captcha=captcha),
        lifecycle=AccountLifecycle(users=users, sessions=sessions.manager, pictures=pictures.manager,
                                   notifier=notifier or MailNotifier(outbox=mail.outbox), audit=audit,
                                   identities=social.identities, factors=mfa.store),
        email_change=EmailChange(users=users, sessions=sessions.manager, links=tokens.links, outbox=mail.outbox,
                                 throttle=limits.throttle, audit=audit, lifetime=config.email_change_lifetime),
        hasher=hasher,
        policy=policy,
        proof=proof,
    )
