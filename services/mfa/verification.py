"""The second step of a login: a challenge for one factor, then its answer (a TOTP code, a passkey's assertion) or a
recovery code, which raises the caller's own session to aal2 (services/sessions `elevate`): the same session, new
tokens, the aal1 refresh token from before no longer honoured.

Wrong answers are limited as failed logins are (services/limits LoginFailures, rule `mfa-failures`): each attempt
is counted before it is checked, per user and client network (`RATE_LIMIT_MFA_FAILURES`) and per user overall
(`RATE_LIMIT_MFA_FAILURES_ACCOUNT`), with the same growing lock; a right answer clears the counts. Each challenge
also takes only `MFA_CHALLENGE_ATTEMPTS` wrong codes, lives 5 minutes, is bound to the session that asked for it and
is used once: a passkey's challenge is taken on its first answer, right or wrong (no replayed assertion meets it).
"""

from __future__ import annotations

import base64
from typing import Any

from services.context import Caller, Client, TokenPair
from services.limits import LoginFailures, Throttle
from services.mfa import totp
from services.mfa.encryption import SecretBox
from services.mfa.models import Factor
from services.mfa.pending import PendingStep, PendingSteps
from services.mfa.recovery import RecoveryCodes
from services.mfa.store import FactorStore
from services.mfa.webauthn import RelyingParty
from services.operations import NO_OBSERVER, AuditLog, Observer
from services.outcomes import (
    MFA_CHALLENGE_INVALID,
    MFA_CODE_INVALID,
    MFA_FACTOR_NOT_FOUND,
    MISSING_FIELD,
    PASSKEY_INVALID,
    TOO_MANY_REQUESTS,
    AuthError,
    ServiceUnavailable,
)
from services.sessions import SessionService
from services.tokens import HARDWARE_KEY, ONE_TIME_CODE, SOFTWARE_KEY, USER_PRESENCE

CHALLENGE_SECONDS = 300


class SecondFactorVerification:
    def __init__(self, *, store: FactorStore, steps: PendingSteps, box: SecretBox, codes: RecoveryCodes,
                 relying_party: RelyingParty, sessions: SessionService, failures: LoginFailures, throttle: Throttle,
                 audit: AuditLog, max_attempts: int, observer: Observer = NO_OBSERVER) -> None:
        self._store = store
        self._steps = steps
        self._box = box
        self._codes = codes
        self._rp = relying_party
        self._sessions = sessions
        self._failures = failures
        self._throttle = throttle
        self._audit = audit
        self._max_attempts = max_attempts
        self._observer = observer

    async def challenge(self, caller: Caller, factor_id: str) -> tuple[PendingStep, dict[str, Any] | None]:
        """A challenge for one of the caller's factors; for a passkey, the request options to pass to it."""
        factor = await self._active_factor(caller, factor_id, MFA_FACTOR_NOT_FOUND)
        data = {"factor_id": factor.id, "sid": caller.session_id}
        options = None
        if factor.credential is not None:
            challenge, options = self._rp.authentication_options([factor.credential])
            data["challenge"] = base64.urlsafe_b64encode(challenge).decode()
        step = await self._steps.open("challenge", caller.uid, data, CHALLENGE_SECONDS)
        self._audit.record("mfa.challenged", uid=caller.uid, sid=caller.session_id, factor_id=factor.id,
                           type=factor.type)
        return step, options

    async def verify(self, caller: Caller, client: Client, *, challenge_id: str | None, code: str | None,
                     credential: object, recovery_code: str | None) -> TokenPair:
        """Raise the caller's session to aal2 with one of: a challenge and its code, a challenge and a passkey's
        assertion, or a recovery code."""
        if recovery_code is None and (challenge_id is None or (code is None) == (credential is None)):
            raise AuthError(MISSING_FIELD, "Send challenge_id with code or credential, or send recovery_code.")
        method = "recovery" if recovery_code is not None else "totp" if code is not None else "webauthn"
        await self._reserve(caller, client)
        try:
            if recovery_code is not None:
                methods = await self._recovery(caller, recovery_code)
            elif code is not None:
                methods = await self._totp(caller, challenge_id, code)
            else:
                methods = await self._passkey(caller, challenge_id, credential, client)
        except ServiceUnavailable:
            await self._failures.give_back(caller.uid, self._throttle.network(client.ip))
            raise
        except AuthError as exc:
            self._audit.record("mfa.failed", uid=caller.uid, sid=caller.session_id, ip=client.ip, method=method,
                               code=exc.code)
            self._observer.mfa_outcome(f"verify-{method}", exc.code)
            raise
        await self._failures.clear(caller.uid, self._throttle.network(client.ip))
        pair = await self._sessions.elevate(caller, caller.assurance.with_second_factor(*methods), client)
        self._audit.record("mfa.verified", uid=caller.uid, sid=caller.session_id, ip=client.ip, method=method)
        self._observer.mfa_outcome(f"verify-{method}", "success")
        return pair

    async def _reserve(self, caller: Caller, client: Client) -> None:
        reservation = await self._failures.reserve(caller.uid, self._throttle.network(client.ip))
        if reservation.lock is not None:
            self._observer.rate_limited("mfa-failures")
            self._audit.record("mfa.limited", uid=caller.uid, sid=caller.session_id, ip=client.ip,
                               scope=reservation.lock.scope)
            raise AuthError(TOO_MANY_REQUESTS, "Too many wrong codes for this account; retry later.",
                            reservation.lock.headers())

    async def _recovery(self, caller: Caller, recovery_code: str) -> tuple[str, ...]:
        if not caller.user.has_second_factor or not await self._codes.use(caller.uid, recovery_code):
            raise AuthError(MFA_CODE_INVALID)
        self._audit.record("mfa.recovery_code_used", uid=caller.uid, sid=caller.session_id,
                           left=await self._codes.left(caller.uid))
        return (ONE_TIME_CODE,)

    async def _totp(self, caller: Caller, challenge_id: str | None, code: str) -> tuple[str, ...]:
        step = await self._open_step(caller, challenge_id, keep=True)
        factor = await self._active_factor(caller, step.data["factor_id"], MFA_CHALLENGE_INVALID)
        if factor.type != "totp":
            raise AuthError(MFA_CHALLENGE_INVALID, "This challenge is for a passkey: answer it with credential.")
        secret = self._box.open(factor.secret, totp.secret_context(caller.uid, factor.id))
        matched = totp.matching_step(secret.decode(), code)
        if matched is None or matched <= factor.last_step:  # a step accepted once is refused from then on
            await self._steps.failed(step, self._max_attempts)
            raise AuthError(MFA_CODE_INVALID)
        if not await self._steps.finish(step):
            raise AuthError(MFA_CHALLENGE_INVALID)
        resealed = None if self._box.is_current(factor.secret) else self._box.seal(
            secret, totp.secret_context(caller.uid, factor.id))
        if not await self._store.accept_step(factor.id, matched, resealed):
            raise AuthError(MFA_CODE_INVALID)  # the same code won in another request a moment ago
        return (ONE_TIME_CODE,)

    async def _passkey(self, caller: Caller, challenge_id: str | None, credential: object,
                       client: Client) -> tuple[str, ...]:
        step = await self._open_step(caller, challenge_id, keep=False)
        factor = await self._active_factor(caller, step.data["factor_id"], MFA_CHALLENGE_INVALID)
        if factor.credential is None or "challenge" not in step.data or not isinstance(credential, dict):
            raise AuthError(PASSKEY_INVALID, "This challenge is answered with a passkey's credential.")
        challenge = base64.urlsafe_b64decode(step.data["challenge"])
        asserted = self._rp.verify_authentication(credential, challenge, factor.credential)
        if asserted.counter_went_back:
            self._audit.record("passkey.counter_regression", uid=caller.uid, sid=caller.session_id, ip=client.ip,
                               factor_id=factor.id, stored=factor.credential.sign_count, seen=asserted.new_sign_count)
            raise AuthError(PASSKEY_INVALID, "This passkey's sign counter went backwards: it may be a copy.")
        key_methods = {HARDWARE_KEY, SOFTWARE_KEY}
        if key_methods & set(caller.assurance.amr) and not asserted.user_verified:
            # Signed in with a passkey already, without user verification: the same key again is no second factor.
            raise AuthError(PASSKEY_INVALID, "This session began with a passkey: verify with user verification "
                                             "(PIN or biometrics) or another factor.")
        if not await self._store.advance_counter(factor.id, factor.credential.sign_count, asserted.new_sign_count):
            raise AuthError(PASSKEY_INVALID)
        kind = SOFTWARE_KEY if factor.credential.multi_device else HARDWARE_KEY
        return (kind, USER_PRESENCE) if asserted.user_verified else (kind,)

    async def _open_step(self, caller: Caller, challenge_id: str | None, keep: bool) -> PendingStep:
        read = self._steps.peek if keep else self._steps.take
        step = await read("challenge", caller.uid, challenge_id)
        if step is None or step.data.get("sid") != caller.session_id:
            raise AuthError(MFA_CHALLENGE_INVALID)
        return step

    async def _active_factor(self, caller: Caller, factor_id: str | None, missing: Any) -> Factor:
        factor = None
        if factor_id and any(ref.id == factor_id for ref in caller.user.factors):
            factor = await self._store.get(caller.uid, factor_id)
        if factor is None:
            raise AuthError(missing)
        return factor
