"""The user's own fields as people type them, made canonical once: the address, its lookalike key, the name."""

from __future__ import annotations

import hashlib
import unicodedata

from disarm import skeleton_key
from email_validator import EmailNotValidError, validate_email

from services.outcomes import INVALID_EMAIL, INVALID_NAME, AuthError

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200
PLACEHOLDER_DOMAIN = "users.invalid"


def normalize_email(email: str) -> str:
    """One spelling per mailbox, so `Omar@Quazi.co` and `omar@quazi.co` cannot be two accounts."""
    candidate = email.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise AuthError(INVALID_EMAIL)
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AuthError(INVALID_EMAIL, f"That is not a valid email address: {exc}") from None


def email_key(address: str) -> str:
    """What a person reads in `address`: two addresses with the same key look the same, and only one account
    may have it (a unique index beside `email`).

    NFKC folds fullwidth and other compatibility forms (fullwidth `omar`, U+FF4F U+FF4D U+FF41 U+FF52, is
    `omar`), casefolding folds case the way Unicode does (`ß` is `ss`), and the UTS #39 confusable skeleton
    folds lookalikes across scripts (a Cyrillic o, U+043E, is a Latin `o`; `0` is `O`, `1` is `l`) and drops
    invisible characters. The skeleton comes
    from `disarm`'s `skeleton_key` with the `tr39` digit policy: Unicode's own confusables data, folded to a
    fixed point. A key that would be empty (an address of characters the fold removes) is the address.
    """
    folded = unicodedata.normalize("NFKC", address).casefold()
    return skeleton_key(folded, digit_policy="tr39") or folded


def placeholder_address(provider: str, subject: str) -> str:
    """The address of an account whose provider gave no address it vouches for: unique, in the reserved
    `.invalid` domain (RFC 2606), never mailed; the user replaces it with `PATCH /user {"email"}`."""
    subject_ref = hashlib.sha256(subject.encode()).hexdigest()[:20]
    return f"{provider}-{subject_ref}@{PLACEHOLDER_DOMAIN}"


def deliverable(address: str) -> bool:
    """False for addresses in the reserved `.invalid` domain (RFC 2606), such as the placeholder
    `<provider>-<hash>@users.invalid` of a social sign-in: nothing is ever mailed there."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    return not (domain == "invalid" or domain.endswith(".invalid"))


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AuthError(INVALID_NAME)
    return name
