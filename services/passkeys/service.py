"""Passkeys: register one to the signed-in account, list and remove them, and sign in with one.

A passkey is a way to sign in of its own (like a password or a linked identity) and a second factor (type
`webauthn` for `/mfa/challenge`): its record is a factor's (services/mfa). Registering one is a change that could
hand over the account, so it needs a fresh token, and aal2 once the user has a factor; the registration proves the
authenticator in the caller's session, which it raises to aal2 as a TOTP confirmation does.

Sign-in (`/login/passkey`) takes a discoverable credential (no address: the authenticator offers the user's
passkeys) or, with an address, the passkeys of that account. An address without an account, or without passkeys,
gets options of the same shape, with credential ids derived from the address under the server's audit key: the
same ids every time, so asking twice tells nothing either. The answer is verified against the challenge, the
origins and the RP ID, its signature against the stored key, its user handle against the credential's owner, and
its sign counter must move forward (a counter going back is refused and audited).
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from services.context import Caller, Client, TokenPair
from services.mfa import (
    MAX_FACTORS,
    Factor,
    FactorStore,
    MfaFactors,
    PasskeyCredential,
    PendingStep,
    PendingSteps,
    RecoveryCodes,
    RelyingParty,
    answer_ids,
    new_id,
    uid_of_handle,
)
from services.operations import NO_OBSERVER, AuditLog, Observer
from services.outcomes import (
    EMAIL_NOT_VERIFIED,
    MFA_CHALLENGE_INVALID,
    MFA_FACTOR_LIMIT,
    MFA_FACTOR_NOT_FOUND,
    PASSKEY_IN_USE,
    PASSKEY_INVALID,
    USER_DISABLED,
    AuthError,
)
from services.sessions import SessionService, require_step_up
from services.tokens import HARDWARE_KEY, SOFTWARE_KEY, USER_PRESENCE, Assurance
from services.users import FactorRef, User, UserStore, clean_name, normalize_email

CEREMONY_SECONDS = 300


class PasskeyService:
    def __init__(self, *, users: UserStore, store: FactorStore, steps: PendingSteps, factors: MfaFactors,
                 codes: RecoveryCodes, relying_party: RelyingParty, sessions: SessionService, audit: AuditLog,
                 email_verification_required: bool = False, observer: Observer = NO_OBSERVER) -> None:
        self._users = users
        self._store = store
        self._steps = steps
        self._factors = factors
        self._codes = codes
        self._rp = relying_party
        self._sessions = sessions
        self._audit = audit
        self._email_verification_required = email_verification_required
        self._observer = observer

    # --- the signed-in user's passkeys ----------------------------------------------------------------------

    async def registration_options(self, caller: Caller, name: str | None) -> tuple[PendingStep, dict[str, Any]]:
        require_step_up(caller)
        if len(caller.user.factors) >= MAX_FACTORS:
            raise AuthError(MFA_FACTOR_LIMIT)
        label = clean_name(name) if name else "Passkey"
        challenge, options = self._rp.registration_options(caller.user, await self._credentials(caller.user))
        step = await self._steps.open("passkey-registration", caller.uid, {
            "challenge": _b64(challenge), "name": label, "sid": caller.session_id}, CEREMONY_SECONDS)
        return step, options

    async def register(self, caller: Caller, challenge_id: str | None, credential: object,
                       client: Client) -> tuple[TokenPair, list[str] | None]:
        """Store the passkey and raise the session to aal2; the user's first factor also brings recovery codes."""
        step = await self._steps.take("passkey-registration", caller.uid, challenge_id)
        if step is None or step.data["sid"] != caller.session_id:
            raise AuthError(MFA_CHALLENGE_INVALID)
        require_step_up(caller, fresh=False)
        if not isinstance(credential, dict):
            raise AuthError(PASSKEY_INVALID, "credential must be a RegistrationResponseJSON object")
        try:
            registered = self._rp.verify_registration(credential, _unb64(step.data["challenge"]))
        except AuthError as exc:
            self._audit.record("passkey.registration_failed", uid=caller.uid, sid=caller.session_id, ip=client.ip)
            self._observer.mfa_outcome("enrol-passkey", exc.code)
            raise
        if await self._store.find_credential(registered.credential.credential_id) is not None:
            raise AuthError(PASSKEY_IN_USE)
        now = int(time.time())
        factor = Factor(id=new_id(), uid=caller.uid, type="webauthn", name=step.data["name"], created_at=now,
                        last_used_at=now, credential=registered.credential)
        first = not caller.user.has_second_factor
        if not await self._store.insert(factor):
            raise AuthError(PASSKEY_IN_USE)  # registered by another request a moment ago
        await self._factors.activate(caller, factor, client)
        codes = await self._codes.issue(caller.uid) if first else None
        methods = _methods(factor, registered.user_verified)
        pair = await self._sessions.elevate(caller, caller.assurance.with_second_factor(*methods), client)
        self._observer.mfa_outcome("enrol-passkey", "success")
        return pair, codes

    async def list(self, caller: Caller) -> list[dict[str, Any]]:
        factors, _ = await self._factors.overview(caller.user)
        return [{**factor.public(), "backed_up": factor.credential.backed_up,
                 "transports": list(factor.credential.transports)}
                for factor in factors if factor.credential is not None]

    async def remove(self, caller: Caller, passkey_id: str, client: Client) -> FactorRef:
        if not any(ref.id == passkey_id and ref.type == "webauthn" for ref in caller.user.factors):
            raise AuthError(MFA_FACTOR_NOT_FOUND, "You have no passkey with that id.")
        return await self._factors.remove(caller, passkey_id, client)

    # --- sign-in --------------------------------------------------------------------------------------------

    async def sign_in_options(self, email: str | None) -> tuple[PendingStep, dict[str, Any]]:
        """Options for a discoverable passkey, or for the passkeys of the account with `email`: the same shape, and
        the same reads, whether or not it has an account or passkeys."""
        allowed, credentials = "", []
        if email is not None:
            address = normalize_email(email)
            user = await self._users.find_by_email(address)
            credentials = await self._credentials(user)
            if not credentials:
                credentials = [self._stand_in(address)]
            allowed = ",".join(_b64(credential.credential_id) for credential in credentials)
        challenge, options = self._rp.authentication_options(credentials)
        step = await self._steps.open("passkey-sign-in", "", {"challenge": _b64(challenge), "allowed": allowed},
                                      CEREMONY_SECONDS)
        return step, options

    async def sign_in(self, challenge_id: str | None, credential: object, fresh: bool,
                      client: Client) -> tuple[User, TokenPair]:
        step = await self._steps.take("passkey-sign-in", "", challenge_id)
        if step is None:
            raise AuthError(MFA_CHALLENGE_INVALID)
        try:
            user, factor, user_verified = await self._verified_holder(step, credential, client)
        except AuthError as exc:
            self._audit.record("login.failed", ip=client.ip, method="passkey", code=exc.code)
            self._observer.mfa_outcome("sign-in-passkey", exc.code)
            raise
        kind, *_ = _methods(factor, False)
        assurance = Assurance("aal2", (kind, USER_PRESENCE)) if user_verified else Assurance.single(kind)
        pair, session = await self._sessions.start(user, fresh, client, assurance)
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, fresh=fresh, method="passkey",
                           factor_id=factor.id, aal=assurance.aal)
        self._observer.mfa_outcome("sign-in-passkey", "success")
        return user, pair

    async def _verified_holder(self, step: PendingStep, credential: object,
                               client: Client) -> tuple[User, Factor, bool]:
        raw_id, handle = answer_ids(credential)
        allowed = step.data.get("allowed", "")
        if allowed and _b64(raw_id) not in allowed.split(","):
            raise AuthError(PASSKEY_INVALID, "This passkey was not one the options allowed.")
        factor = await self._store.find_credential(raw_id)
        user = await self._users.find_by_uid(factor.uid) if factor else None
        if factor is None or factor.credential is None or user is None or all(ref.id != factor.id
                                                                              for ref in user.factors):
            raise AuthError(PASSKEY_INVALID, "This passkey is not registered here.")
        if handle is not None and uid_of_handle(handle) != user.uid:  # §7.2 step 6: the handle names the owner
            raise AuthError(PASSKEY_INVALID, "This passkey belongs to another account.")
        asserted = self._rp.verify_authentication(credential, _unb64(step.data["challenge"]),  # type: ignore[arg-type]
                                                  factor.credential)
        if asserted.counter_went_back:
            self._audit.record("passkey.counter_regression", uid=user.uid, ip=client.ip, factor_id=factor.id,
                               stored=factor.credential.sign_count, seen=asserted.new_sign_count)
            raise AuthError(PASSKEY_INVALID, "This passkey's sign counter went backwards: it may be a copy.")
        if not await self._store.advance_counter(factor.id, factor.credential.sign_count, asserted.new_sign_count):
            raise AuthError(PASSKEY_INVALID)
        if user.disabled:
            raise AuthError(USER_DISABLED)
        if self._email_verification_required and not user.email_verified:
            raise AuthError(EMAIL_NOT_VERIFIED)
        return user, factor, asserted.user_verified

    async def _credentials(self, user: User | None) -> list[PasskeyCredential]:
        """The user's active passkeys' credentials: one read, made for an unknown address too."""
        active = {ref.id for ref in user.factors} if user else set()
        factors = await self._store.list(user.uid if user else "-")
        return [factor.credential for factor in factors if factor.id in active and factor.credential is not None]

    def _stand_in(self, address: str) -> PasskeyCredential:
        digest = hashlib.sha256(self._audit.account_ref(f"passkey-sign-in:{address}").encode()).digest()
        return PasskeyCredential(credential_id=digest[:16], public_key=b"", sign_count=0,
                                 transports=("hybrid", "internal"))


def _methods(factor: Factor, user_verified: bool) -> tuple[str, ...]:
    """RFC 8176: a synced passkey is a software-secured key (`swk`), one bound to its device a hardware key (`hwk`);
    `user` when the authenticator verified the user."""
    kind = SOFTWARE_KEY if factor.credential is not None and factor.credential.multi_device else HARDWARE_KEY
    return (kind, USER_PRESENCE) if user_verified else (kind,)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
