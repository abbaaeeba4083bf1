"""The user's own fields as people type them, made canonical once: the address and the display name."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email

from services.outcomes import INVALID_EMAIL, INVALID_NAME, AuthError

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = 200


def normalize_email(email: str) -> str:
    """One spelling per mailbox, so `Omar@Quazi.co` and `omar@quazi.co` cannot be two accounts."""
    candidate = email.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH:
        raise AuthError(INVALID_EMAIL)
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise AuthError(INVALID_EMAIL, f"That is not a valid email address: {exc}") from None


def clean_name(name: str) -> str:
    name = unicodedata.normalize("NFC", name).strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AuthError(INVALID_NAME)
    return name
