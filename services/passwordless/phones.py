"""Phone numbers as people type them, made canonical once: E.164 (`+447700900123`), with Google's libphonenumber
rules (the `phonenumbers` package), so `+44 7700 900123`, `+44 (0)7700-900123` and `07700 900123` with region
`GB` are one number, one account."""

from __future__ import annotations

import phonenumbers

from services.outcomes import INVALID_PHONE, AuthError

MAX_PHONE_INPUT = 64


def normalize_phone(text: str, default_region: str = "") -> str:
    """The number in E.164, or 400 `auth/invalid-phone`. Without `default_region` (PHONE_DEFAULT_REGION) a number
    must start with `+` and its country code. Numbers that cannot exist (wrong length for their country, an
    unassigned prefix) are refused: a code texted there would reach nobody, or a stranger."""
    candidate = text.strip()
    if not candidate or len(candidate) > MAX_PHONE_INPUT:
        raise AuthError(INVALID_PHONE)
    try:
        number = phonenumbers.parse(candidate, default_region or None)
    except phonenumbers.NumberParseException:
        raise AuthError(INVALID_PHONE) from None
    if not phonenumbers.is_valid_number(number):
        raise AuthError(INVALID_PHONE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(phone: str) -> str:
    """`+447700900123` -> `+44•••••••23`: enough for its owner to recognise in a mail, no more."""
    return phone[:3] + "•" * max(len(phone) - 5, 0) + phone[-2:]
