"""The mails the server sends, as typed intents queued in the outbox; the worker composes each at delivery time.

Each carries only what the composer cannot look up itself: a uid (the mail goes to the user's current address)
or an address (whatever account has it, maybe none: the request that asked answered the same either way).
`kind` is the name in the stored record; it never changes, so queued messages survive an upgrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.infra import MessageCodec


@dataclass(frozen=True)
class VerifyAddress:
    """A verification link to the user's address, unless it is verified already."""

    kind: ClassVar[str] = "verify"
    uid: str


@dataclass(frozen=True)
class VerifyRequest:
    """The same, for whichever account has this address (`POST /verify/resend` without a token)."""

    kind: ClassVar[str] = "verify-request"
    email: str


@dataclass(frozen=True)
class ResetRequest:
    """A password reset link, if an account has this address."""

    kind: ClassVar[str] = "reset-request"
    email: str


@dataclass(frozen=True)
class PasswordChanged:
    """"Your password was changed": a security notice. After a reset, also what the proof of the address removed
    (services/accounts/proof.py): the providers unlinked and the address a pending change would have moved the
    account to."""

    kind: ClassVar[str] = "password-changed"
    uid: str
    unlinked: tuple[str, ...] = ()
    dropped_change: str = ""


@dataclass(frozen=True)
class EmailChanged:
    """Tells the old address where the account went."""

    kind: ClassVar[str] = "email-changed"
    uid: str
    old_email: str


@dataclass(frozen=True)
class EmailChangeRequested:
    """To the address a pending change would move the account to: its confirmation link, or, when another
    account has that address, a notice to its owner instead (the request answered the same either way)."""

    kind: ClassVar[str] = "email-change-request"
    uid: str
    change_id: str


@dataclass(frozen=True)
class EmailChangeNotice:
    """To the account's current address: a change was asked for, with a link that cancels it and, when the
    request came without a fresh token, the confirmation this address must give too."""

    kind: ClassVar[str] = "email-change-notice"
    uid: str
    change_id: str


@dataclass(frozen=True)
class AddressConfirmed:
    """A verification link proved an address that was not verified: what that proof ended (the sessions, the
    providers linked, a pending change), so the owner knows the account is theirs alone now."""

    kind: ClassVar[str] = "address-confirmed"
    uid: str
    unlinked: tuple[str, ...] = ()
    dropped_change: str = ""
    sessions_ended: bool = False
    # The proof was a sign-in code (services/passwordless): the password someone set before it was removed.
    password_removed: bool = False


@dataclass(frozen=True)
class SignupAttempt:
    """"Someone tried to sign up with your address" (EMAIL_VERIFICATION_REQUIRED: sign-up tells nobody else)."""

    kind: ClassVar[str] = "signup-attempt"
    email: str


@dataclass(frozen=True)
class AccountDeleted:
    """The account is gone: the address and name travel with the message, since no user is left to look up."""

    kind: ClassVar[str] = "account-deleted"
    email: str
    name: str


@dataclass(frozen=True)
class Invitation:
    """An admin made this account without a password (POST /admin/users): a link to choose one, the reset link."""

    kind: ClassVar[str] = "invite"
    uid: str


@dataclass(frozen=True)
class SignInCode:
    """A sign-in code and magic link to this address (`POST /otp`), if it may sign in: whether it may is decided at
    delivery (services/passwordless/delivery.py), so the request answered the same for every address."""

    kind: ClassVar[str] = "sign-in-code"
    email: str
    create_user: bool = False
    redirect_to: str = ""
    fresh: bool = False


@dataclass(frozen=True)
class PhoneChanged:
    """The account's number was set or removed: a security notice to its address (`phone`: the new one, masked)."""

    kind: ClassVar[str] = "phone-changed"
    uid: str
    phone: str = ""


@dataclass(frozen=True)
class SecondFactorAdded:
    """A security notice: a second factor or a passkey was added to the account (`factor_type`: totp, webauthn)."""

    kind: ClassVar[str] = "mfa-factor-added"
    uid: str
    factor_type: str
    name: str


@dataclass(frozen=True)
class SecondFactorRemoved:
    """A security notice: a second factor or a passkey was removed; `by_operator`: every factor, by `users
    mfa-reset` (then `factor_type` and `name` are empty)."""

    kind: ClassVar[str] = "mfa-factor-removed"
    uid: str
    factor_type: str = ""
    name: str = ""
    by_operator: bool = False


MailMessage = (VerifyAddress | VerifyRequest | ResetRequest | PasswordChanged | EmailChanged | SignupAttempt
               | AccountDeleted | EmailChangeRequested | EmailChangeNotice | AddressConfirmed | Invitation | SignInCode
               | PhoneChanged | SecondFactorAdded | SecondFactorRemoved)
MAIL_MESSAGES: MessageCodec[MailMessage] = MessageCodec(
    [VerifyAddress, VerifyRequest, ResetRequest, PasswordChanged, EmailChanged, SignupAttempt, AccountDeleted,
     EmailChangeRequested, EmailChangeNotice, AddressConfirmed, Invitation, SignInCode, PhoneChanged,
     SecondFactorAdded, SecondFactorRemoved])
