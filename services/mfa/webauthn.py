"""The WebAuthn relying party (W3C WebAuthn Level 3 §7) on py_webauthn: the options a client passes to
`navigator.credentials` (or Android's Credential Manager, iOS's ASAuthorization), and the checks of its answer.

py_webauthn checks the challenge, the origin (any of `WEBAUTHN_ORIGINS`: web origins and `android:apk-key-hash:`
ones), the RP ID hash, user presence, user verification when the setting requires it, and the signature. What it
leaves to the relying party is done here or by the callers: the sign counter (§6.1.1: a counter that does not move
forward while either side is non-zero suggests a cloned authenticator: refused, and audited by the caller), the
credential's owner, and the user handle of a discoverable sign-in. Attestation is `none`: we trust no authenticator
model more than another, so we ask for no statement to judge (§5.4.7).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, options_to_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from services.mfa.models import PasskeyCredential
from services.outcomes import PASSKEY_INVALID, AuthError
from services.users import User

TIMEOUT_MS = 300_000  # the challenge's own lifetime: 5 minutes
_TRANSPORTS = {transport.value for transport in AuthenticatorTransport}


@dataclass(frozen=True)
class Registered:
    credential: PasskeyCredential
    user_verified: bool


@dataclass(frozen=True)
class Asserted:
    new_sign_count: int
    user_verified: bool
    counter_went_back: bool


class RelyingParty:
    def __init__(self, *, rp_id: str, rp_name: str, origins: tuple[str, ...], user_verification: str) -> None:
        self.rp_id = rp_id
        self._rp_name = rp_name
        self._origins = list(origins)
        self._uv = UserVerificationRequirement(user_verification)

    @property
    def requires_user_verification(self) -> bool:
        return self._uv is UserVerificationRequirement.REQUIRED

    def registration_options(self, user: User, known: list[PasskeyCredential]) -> tuple[bytes, dict[str, Any]]:
        """The challenge and PublicKeyCredentialCreationOptions (JSON, base64url): a discoverable credential is
        preferred, so the passkey can sign in without an address; the user's own passkeys are excluded."""
        options = generate_registration_options(
            rp_id=self.rp_id, rp_name=self._rp_name, user_id=user_handle(user.uid), user_name=user.email,
            user_display_name=user.name, timeout=TIMEOUT_MS,
            authenticator_selection=AuthenticatorSelectionCriteria(resident_key=ResidentKeyRequirement.PREFERRED,
                                                                   user_verification=self._uv),
            exclude_credentials=[_descriptor(credential) for credential in known])
        return options.challenge, json.loads(options_to_json(options))

    def authentication_options(self, allowed: list[PasskeyCredential]) -> tuple[bytes, dict[str, Any]]:
        """PublicKeyCredentialRequestOptions: for `allowed` credentials, or for any discoverable one when empty."""
        options = generate_authentication_options(
            rp_id=self.rp_id, timeout=TIMEOUT_MS, user_verification=self._uv,
            allow_credentials=[_descriptor(credential) for credential in allowed])
        return options.challenge, json.loads(options_to_json(options))

    def verify_registration(self, answer: dict[str, Any], challenge: bytes) -> Registered:
        try:
            verified = verify_registration_response(
                credential=answer, expected_challenge=challenge, expected_rp_id=self.rp_id,
                expected_origin=self._origins, require_user_verification=self.requires_user_verification)
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise AuthError(PASSKEY_INVALID, f"The passkey could not be registered: {_reason(exc)}") from None
        transports = (answer.get("response") or {}).get("transports") or []
        credential = PasskeyCredential(
            credential_id=verified.credential_id, public_key=verified.credential_public_key,
            sign_count=verified.sign_count, aaguid=str(verified.aaguid),
            transports=tuple(str(t) for t in transports if t in _TRANSPORTS)[:8],
            multi_device=str(getattr(verified.credential_device_type, "value", "")) == "multi_device",
            backed_up=verified.credential_backed_up)
        return Registered(credential=credential, user_verified=verified.user_verified)

    def verify_authentication(self, answer: dict[str, Any], challenge: bytes,
                              credential: PasskeyCredential) -> Asserted:
        try:
            verified = verify_authentication_response(
                credential=answer, expected_challenge=challenge, expected_rp_id=self.rp_id,
                expected_origin=self._origins, credential_public_key=credential.public_key,
                credential_current_sign_count=0, require_user_verification=self.requires_user_verification)
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise AuthError(PASSKEY_INVALID, f"The passkey's answer could not be verified: {_reason(exc)}") from None
        if verified.credential_id != credential.credential_id:
            raise AuthError(PASSKEY_INVALID)
        new, stored = verified.new_sign_count, credential.sign_count
        return Asserted(new_sign_count=new, user_verified=verified.user_verified,
                        counter_went_back=(new > 0 or stored > 0) and new <= stored)


def user_handle(uid: str) -> bytes:
    """The WebAuthn user handle of a user: the uid's 16 bytes (opaque, no address or name in it: §14.6.1)."""
    return uuid.UUID(uid).bytes


def uid_of_handle(handle: bytes) -> str | None:
    return str(uuid.UUID(bytes=handle)) if len(handle) == 16 else None


def answer_ids(answer: object) -> tuple[bytes, bytes | None]:
    """The credential id and the user handle an assertion names (read before it is verified, to find its record)."""
    if not isinstance(answer, dict):
        raise AuthError(PASSKEY_INVALID, "credential must be a PublicKeyCredential as JSON")
    try:
        raw_id = base64url_to_bytes(str(answer["rawId"]))
        handle = (answer.get("response") or {}).get("userHandle")
        return raw_id, base64url_to_bytes(str(handle)) if handle else None
    except (KeyError, ValueError, TypeError, AttributeError):
        raise AuthError(PASSKEY_INVALID, "credential must be a PublicKeyCredential as JSON") from None


def _descriptor(credential: PasskeyCredential) -> PublicKeyCredentialDescriptor:
    return PublicKeyCredentialDescriptor(id=credential.credential_id,
                                         transports=[AuthenticatorTransport(t) for t in credential.transports])


def _reason(exc: Exception) -> str:
    """py_webauthn's own words (which check failed), without echoing what the client sent at length."""
    text = str(exc).split("\n", 1)[0][:160]
    return text if isinstance(exc, WebAuthnException) and text else "the credential is malformed"
