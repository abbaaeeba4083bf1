"""The user's second factors: list them, enrol an authenticator app (TOTP), activate any factor, remove one, replace
the recovery codes, and the operator's reset.

Enrolment is two steps, as every authenticator app expects: `start_totp` makes a secret and holds it, sealed, in a
pending step of 10 minutes bound to the session that asked; `confirm_totp` activates it once a code from the app
proves the app holds it, and raises that very session to aal2. A factor becomes active in two writes: its record
(services/mfa/store.py) first, then its entry in the user's list (services/users `mfa_factors`), which is what makes
it count; a fault between them leaves a record nobody uses, and the retry finishes the job. Removal goes the other
way round: out of the list first, then the record.
"""

from __future__ import annotations

import time
from typing import Any

from services.context import Caller, Client, TokenPair
from services.infra import Outbox, UserLocks
from services.mail import MailMessage, SecondFactorAdded, SecondFactorRemoved
from services.mfa import totp
from services.mfa.encryption import SecretBox
from services.mfa.models import Factor
from services.mfa.pending import PendingSteps, new_id
from services.mfa.recovery import RecoveryCodes
from services.mfa.store import FactorStore
from services.operations import NO_OBSERVER, AuditLog, Observer
from services.outcomes import (
    LAST_SIGN_IN_METHOD,
    MFA_CODE_INVALID,
    MFA_FACTOR_LIMIT,
    MFA_FACTOR_NOT_FOUND,
    AuthError,
)
from services.sessions import SessionService, require_step_up
from services.social import IdentityStore
from services.tokens import ONE_TIME_CODE
from services.users import FactorRef, User, UserStore, clean_name

MAX_FACTORS = 10
ENROLMENT_SECONDS = 600
CONFIRM_ATTEMPTS = 5


class MfaFactors:
    def __init__(self, *, users: UserStore, store: FactorStore, steps: PendingSteps, box: SecretBox,
                 codes: RecoveryCodes, sessions: SessionService, identities: IdentityStore, locks: UserLocks,
                 outbox: Outbox[MailMessage], audit: AuditLog, issuer: str, observer: Observer = NO_OBSERVER) -> None:
        self._users = users
        self._store = store
        self._steps = steps
        self._box = box
        self._codes = codes
        self._sessions = sessions
        self._identities = identities
        self._locks = locks
        self._outbox = outbox
        self._audit = audit
        self._issuer = issuer
        self._observer = observer

    async def overview(self, user: User) -> tuple[list[Factor], int]:
        """The user's active factors, oldest first, and how many recovery codes are left (`GET /user/mfa`)."""
        active = {ref.id for ref in user.factors}
        factors = [factor for factor in await self._store.list(user.uid) if factor.id in active]
        return factors, await self._codes.left(user.uid) if factors else 0

    async def start_totp(self, caller: Caller, name: str | None) -> dict[str, Any]:
        require_step_up(caller)
        user = caller.user
        if len(user.factors) >= MAX_FACTORS:
            raise AuthError(MFA_FACTOR_LIMIT)
        label = clean_name(name) if name else "Authenticator app"
        secret, factor_id = totp.new_secret(), new_id()
        uri = totp.provisioning_uri(secret, user.email, self._issuer)
        await self._steps.open("totp-enrolment", user.uid, {
            "secret": self._box.seal(secret.encode(), totp.secret_context(user.uid, factor_id)), "name": label,
            "sid": caller.session_id}, ENROLMENT_SECONDS, step_id=factor_id)
        self._audit.record("mfa.enrolment_started", uid=user.uid, sid=caller.session_id, factor_id=factor_id,
                           type="totp")
        return {"factor_id": factor_id, "secret": secret, "otpauth_uri": uri, "qr_svg": totp.qr_svg(uri)}

    async def confirm_totp(self, caller: Caller, factor_id: str, code: str,
                           client: Client) -> tuple[TokenPair, list[str]]:
        """Activate the pending factor once `code` is one of its codes: new recovery codes, and the session at aal2."""
        user = caller.user
        step = await self._steps.peek("totp-enrolment", user.uid, factor_id)
        if step is None or step.data["sid"] != caller.session_id:
            raise AuthError(MFA_FACTOR_NOT_FOUND, "No enrolment with that factor_id is waiting in this session.")
        require_step_up(caller, fresh=False)  # a factor added meanwhile, elsewhere, asks for aal2 here too
        sealed = step.data["secret"]
        secret = self._box.open(sealed, totp.secret_context(user.uid, factor_id)).decode()
        matched = totp.matching_step(secret, code)
        if matched is None:
            await self._steps.failed(step, CONFIRM_ATTEMPTS)
            self._audit.record("mfa.failed", uid=user.uid, sid=caller.session_id, ip=client.ip, type="totp",
                               during="enrolment")
            self._observer.mfa_outcome("enrol-totp", MFA_CODE_INVALID.code)
            raise AuthError(MFA_CODE_INVALID)
        factor = Factor(id=factor_id, uid=user.uid, type="totp", name=step.data["name"], created_at=int(time.time()),
                        last_used_at=int(time.time()), secret=sealed, last_step=matched)
        await self.activate(caller, factor, client)
        await self._steps.finish(step)
        codes = await self._codes.issue(user.uid)
        pair = await self._sessions.elevate(caller, caller.assurance.with_second_factor(ONE_TIME_CODE), client)
        self._observer.mfa_outcome("enrol-totp", "success")
        return pair, codes

    async def activate(self, caller: Caller, factor: Factor, client: Client) -> User:
        """Store `factor` and list it as the user's; told by mail. A retried activation finds its record stored."""
        if not await self._store.insert(factor):
            stored = await self._store.get(caller.uid, factor.id)
            if stored is None:
                raise AuthError(MFA_FACTOR_NOT_FOUND)
        updated = await self._users.add_factor(caller.uid, factor.ref, MAX_FACTORS)
        if updated is None:
            current = await self._users.find_by_uid(caller.uid)
            if current is None or all(ref.id != factor.id for ref in current.factors):
                await self._store.delete(caller.uid, factor.id)
                raise AuthError(MFA_FACTOR_LIMIT)
            return current  # listed by the attempt that failed after its write
        self._audit.record("mfa.factor_added", uid=caller.uid, sid=caller.session_id, ip=client.ip,
                           factor_id=factor.id, type=factor.type)
        await self._outbox.enqueue(SecondFactorAdded(uid=caller.uid, factor_type=factor.type, name=factor.name))
        # A passkey is a way back in: an anonymous account (services/passwordless) is a full one from now on.
        if factor.type == "webauthn" and updated.is_anonymous and await self._users.end_anonymity(caller.uid):
            self._audit.record("account.upgraded", uid=caller.uid, ip=client.ip, via="passkey")
            updated = await self._users.find_by_uid(caller.uid) or updated
        return updated

    async def remove(self, caller: Caller, factor_id: str, client: Client) -> FactorRef:
        """Remove an active factor, never the last way to sign in (a passkey of an account without a password or
        a linked identity): the count and the removal hold the same lock as unlinking an identity."""
        require_step_up(caller)
        async with self._locks.hold(caller.uid, "identity"):
            user = await self._users.find_by_uid(caller.uid) or caller.user
            ref = next((ref for ref in user.factors if ref.id == factor_id), None)
            if ref is None:
                raise AuthError(MFA_FACTOR_NOT_FOUND)
            if ref.type == "webauthn" and not user.has_password and user.passkeys == 1 \
                    and not await self._identities.list(user.uid):
                raise AuthError(LAST_SIGN_IN_METHOD, "This passkey is the only way to sign in to your account; set "
                                                     "a password or add another passkey first.")
            updated = await self._users.remove_factor(user.uid, factor_id)
            if updated is None:
                raise AuthError(MFA_FACTOR_NOT_FOUND)
        await self._store.delete(user.uid, factor_id)
        if not updated.has_second_factor:
            await self._store.replace_codes(user.uid, "", [])  # codes for no factor would be a factor of their own
        self._audit.record("mfa.factor_removed", uid=user.uid, sid=caller.session_id, ip=client.ip,
                           factor_id=factor_id, type=ref.type)
        self._observer.mfa_outcome("remove", "success")
        await self._outbox.enqueue(SecondFactorRemoved(uid=user.uid, factor_type=ref.type, name=ref.name))
        return ref

    async def replace_recovery_codes(self, caller: Caller, client: Client) -> list[str]:
        require_step_up(caller)
        if not caller.user.has_second_factor:
            raise AuthError(MFA_FACTOR_NOT_FOUND, "Recovery codes stand in for a second factor: add one first.")
        codes = await self._codes.issue(caller.uid)
        self._audit.record("mfa.recovery_codes_replaced", uid=caller.uid, sid=caller.session_id, ip=client.ip)
        return codes

    # --- the operator's (python server.py users ...) -----------------------------------------------------------

    async def reset(self, user: User) -> int:
        """Every factor, passkey and recovery code of the user goes, and every session ends, in one write; returns
        how many factors there were."""
        await self._sessions.end_all(user.uid, {"mfa_factors": []})
        await self._store.delete_all(user.uid)
        self._audit.record("mfa.reset", uid=user.uid, factors=len(user.factors))
        await self._outbox.enqueue(SecondFactorRemoved(uid=user.uid, by_operator=True))
        return len(user.factors)

    async def rewrap(self) -> tuple[int, int, str]:
        """Seal every TOTP secret with the key that seals now (after a new key was put first); (resealed, total, the
        key's id)."""
        resealed = total = 0
        for factor_id, uid, sealed in await self._store.sealed_secrets():
            total += 1
            if not self._box.is_current(sealed):
                secret = self._box.open(sealed, totp.secret_context(uid, factor_id))
                fresh = self._box.seal(secret, totp.secret_context(uid, factor_id))
                resealed += await self._store.reseal(factor_id, sealed, fresh)
        return resealed, total, self._box.current_kid
