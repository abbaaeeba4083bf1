"""TOTP (RFC 6238 on RFC 4226's HOTP) as every authenticator app reads it: SHA-1, 6 digits, 30-second steps.

A code is accepted for the current step and one step either side (RFC 6238 §5.2 recommends at most one step of
network delay), and the step it matched is what the caller must record as used: a step accepted once is refused
afterwards, and so is every earlier one (services/mfa/store.py `accept_step`).
"""

from __future__ import annotations

import hmac
import io
import time

import pyotp
import segno

DIGITS = 6
PERIOD = 30
WINDOW = 1  # steps either side of now


def new_secret() -> str:
    """160 random bits (RFC 4226 §4 recommends 160), base32 as authenticator apps take it."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI of Google Authenticator's Key Uri Format, which every app reads."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as a QR code, an SVG document an app can show as it is."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", xmldecl=False, scale=4, border=2)
    return buffer.getvalue().decode()


def secret_context(uid: str, factor_id: str) -> str:
    """What a sealed TOTP secret is bound to (AES-GCM associated data): its user and its factor."""
    return f"mfa-totp:{uid}:{factor_id}"


def is_code(code: str) -> bool:
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step whose code `code` is, within the window; None when it is none of them."""
    if not is_code(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = int((time.time() if now is None else now) // PERIOD)
    matched = None
    for step in range(current - WINDOW, current + WINDOW + 1):  # every step compared: the time does not tell which
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched
