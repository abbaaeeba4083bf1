"""A user as the services see it: one MongoDB document, typed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

ConfirmingAddress = Literal["new", "current"]
FactorType = Literal["totp", "webauthn"]


@dataclass(frozen=True)
class FactorRef:
    """One active second factor, as the user document lists it (services/mfa keeps its secrets and usage apart).

    The list on the user is what says a factor is active: every request reads the user anyway, so the MFA rules
    (enforcement, re-authentication, the last way to sign in) cost no read of their own."""

    id: str
    type: FactorType
    name: str

    def document(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "name": self.name}

    def public(self) -> dict[str, Any]:
        return self.document()


@dataclass(frozen=True)
class PendingEmailChange:
    """An address change that waits for its confirmations (`PATCH /user {"email"}`, GoTrue's secure email change).

    The new address always confirms; the current one too when the change was asked for without a fresh token
    (`current_must_confirm`). Until both have, the account keeps its address: logins and resets use it.
    `id` names this request: a newer one replaces it, and links made for it stop working.
    """

    id: str
    email: str
    requested_at: int
    expires_at: int
    current_must_confirm: bool
    new_confirmed: bool = False
    current_confirmed: bool = False

    @property
    def expired(self) -> bool:
        return self.expires_at <= time.time()

    @property
    def complete(self) -> bool:
        return self.new_confirmed and (self.current_confirmed or not self.current_must_confirm)

    def public(self) -> dict[str, Any]:
        """`GET /user/email-change`; `current_address_confirmed` is null when the current address need not."""
        return {"email": self.email, "requested_at": self.requested_at, "expires_at": self.expires_at,
                "new_address_confirmed": self.new_confirmed,
                "current_address_confirmed": self.current_confirmed if self.current_must_confirm else None}

    def document(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "requested_at": self.requested_at,
                "expires_at": self.expires_at, "current_must_confirm": self.current_must_confirm,
                "new_confirmed": self.new_confirmed, "current_confirmed": self.current_confirmed}

    @classmethod
    def from_document(cls, doc: dict[str, Any] | None) -> PendingEmailChange | None:
        if not isinstance(doc, dict):
            return None
        return cls(id=doc["id"], email=doc["email"], requested_at=doc["requested_at"], expires_at=doc["expires_at"],
                   current_must_confirm=doc["current_must_confirm"], new_confirmed=doc.get("new_confirmed", False),
                   current_confirmed=doc.get("current_confirmed", False))


@dataclass(frozen=True)
class User:
    uid: str
    email: str
    name: str
    password_hash: str
    email_verified: bool
    created_at: int
    updated_at: int
    token_epoch: int
    picture: str | None = None
    disabled: bool = False
    email_change: PendingEmailChange | None = None
    # Written before the sign-up's verification mail is queued, cleared after: set, a fault cut the sign-up short
    # and its retry (the same password) may finish it (services/accounts/service.py).
    signup_pending: bool = False
    # Set by admins only (roles, plans: a claim of every new access token) and by the user (preferences), each a
    # JSON object; None while never set, so answers of accounts without them stay as they were.
    app_metadata: dict[str, Any] | None = None
    user_metadata: dict[str, Any] | None = None
    # A verified phone number in E.164 form (services/passwordless/phone.py), unique; None: the user has none.
    phone: str | None = None
    # Made by `POST /signup/anonymous` and not yet given a way back in (a proven address, a phone, an identity, a
    # passkey): the account's sessions are its only credential (services/passwordless/anonymous.py).
    is_anonymous: bool = False
    factors: tuple[FactorRef, ...] = ()

    @property
    def has_second_factor(self) -> bool:
        """Whether logins of this user are aal1 until a second factor is verified (services/mfa)."""
        return bool(self.factors)

    @property
    def passkeys(self) -> int:
        """How many passkeys can sign the user in (each is a way in of its own, like a password or an identity)."""
        return sum(1 for factor in self.factors if factor.type == "webauthn")

    @property
    def has_password(self) -> bool:
        """Accounts made by a social sign-in have none until the user sets one (PATCH /user with a fresh token)."""
        return bool(self.password_hash)

    def admin_view(self) -> dict[str, Any]:
        """The user as the admin API and webhook receivers see it: never the password hash; metadata when set."""
        return {"uid": self.uid, "email": self.email, "name": self.name, "email_verified": self.email_verified,
                "disabled": self.disabled, "has_password": self.has_password, "created_at": self.created_at,
                "updated_at": self.updated_at,
                **({"app_metadata": self.app_metadata} if self.app_metadata else {}),
                **({"user_metadata": self.user_metadata} if self.user_metadata else {})}

    @property
    def pending_email_change(self) -> PendingEmailChange | None:
        """The change still waiting for its confirmations, if any; an expired one counts as none."""
        change = self.email_change
        return change if change is not None and not change.expired else None

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> User:
        return cls(uid=doc["_id"], email=doc["email"], name=doc["name"], password_hash=doc["password_hash"],
                   email_verified=doc.get("email_verified", False), created_at=doc["created_at"],
                   updated_at=doc["updated_at"], token_epoch=doc.get("token_epoch", 0),
                   picture=doc.get("picture"), disabled=doc.get("disabled", False),
                   email_change=PendingEmailChange.from_document(doc.get("email_change")),
                   signup_pending=doc.get("signup_pending", False), app_metadata=doc.get("app_metadata") or None,
                   user_metadata=doc.get("user_metadata") or None, phone=doc.get("phone"),
                   is_anonymous=doc.get("is_anonymous", False), factors=_factors(doc.get("mfa_factors")))


def _factors(entries: list[dict[str, Any]] | None) -> tuple[FactorRef, ...]:
    """The user's active factors; most users have none, and then nothing is built (a request parses its user)."""
    if not entries:
        return ()
    return tuple([FactorRef(id=entry["id"], type=entry["type"], name=entry["name"]) for entry in entries])
