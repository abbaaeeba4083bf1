"""The second-factor and passkey domains' parts, built from the config and their clients (the root orders them)."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.config import Config
from services.infra import IndexBuild, UserLocks
from services.limits import LoginFailures
from services.mfa import (
    FactorStore,
    MfaFactors,
    PendingSteps,
    RecoveryCodes,
    RelyingParty,
    SecondFactorVerification,
    SecretBox,
    load_secret_box,
)
from services.operations import AuditLog, Observer
from services.passkeys import PasskeyService
from services.users import UserStore
from services.wiring.limits import Limits
from services.wiring.mail import Mail
from services.wiring.sessions import Sessions
from services.wiring.social import Social


@dataclass(frozen=True)
class Mfa:
    store: FactorStore
    box: SecretBox
    factors: MfaFactors
    verification: SecondFactorVerification
    passkeys: PasskeyService
    relying_party: RelyingParty


def build_mfa(*, config: Config, redis: Any, database: Any, indexes: IndexBuild, users: UserStore, limits: Limits,
              sessions: Sessions, mail: Mail, social: Social, audit: AuditLog, observer: Observer,
              executor: Executor | None) -> Mfa:
    """Start-up I/O: the TOTP encryption keys are read here (or made, on first start), a bad one is a ConfigError."""
    store = FactorStore(database=database, indexes=indexes)
    box = load_secret_box(config.mfa_encryption_keys, config.mfa_encryption_key_file, Path(config.data_dir))
    steps = PendingSteps(redis=redis)
    codes = RecoveryCodes(store=store, executor=executor)
    relying_party = RelyingParty(rp_id=config.webauthn_rp_id, rp_name=config.webauthn_rp_name,
                                 origins=config.webauthn_origins, user_verification=config.webauthn_user_verification)
    factors = MfaFactors(users=users, store=store, steps=steps, box=box, codes=codes, sessions=sessions.manager,
                         identities=social.identities, locks=UserLocks(redis=redis), outbox=mail.outbox, audit=audit,
                         issuer=config.app_name, observer=observer)
    failures = LoginFailures(redis, per_network=config.rate_limit_mfa_failures,
                             per_account=config.rate_limit_mfa_failures_account,
                             base_lock_seconds=config.login_lock_base_seconds, rule="mfa-failures")
    verification = SecondFactorVerification(
        store=store, steps=steps, box=box, codes=codes, relying_party=relying_party, sessions=sessions.manager,
        failures=failures, throttle=limits.throttle, audit=audit, max_attempts=config.mfa_challenge_attempts,
        observer=observer)
    passkeys = PasskeyService(users=users, store=store, steps=steps, factors=factors, codes=codes,
                              relying_party=relying_party, sessions=sessions.manager, audit=audit,
                              email_verification_required=config.email_verification_required, observer=observer)
    return Mfa(store=store, box=box, factors=factors, verification=verification, passkeys=passkeys,
               relying_party=relying_party)
