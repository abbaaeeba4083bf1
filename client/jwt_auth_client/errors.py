"""Refusals, in the auth server's own words: `{"status": "error", "code": "auth/...", "message": "..."}`.

The codes are the server's (its services/outcomes.py and docs/api.md), so a client app handles a refusal from a
resource server exactly as one from the auth server: 401 `auth/token-expired` means refresh, 401
`auth/token-revoked` means refresh or log in again, 503 `auth/unavailable` means retry after `Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


TOKEN_MISSING = Refusal(401, "auth/token-missing", "No token was sent.")
TOKEN_INVALID = Refusal(401, "auth/token-invalid", "The token is not valid.")
TOKEN_EXPIRED = Refusal(401, "auth/token-expired", "The token has expired.")
TOKEN_REVOKED = Refusal(401, "auth/token-revoked", "The token has been revoked; please log in again.")
FRESH_TOKEN_REQUIRED = Refusal(401, "auth/fresh-token-required",
                               "This change needs a fresh token: log in again with fresh_token set to true.")
# The auth server's own words (issue 15's MFA_REQUIRED): the client app proves the second factor there.
MFA_REQUIRED = Refusal(403, "auth/mfa-required",
                       "This needs your second factor: verify it with POST /mfa/challenge and POST /mfa/verify.")
INSUFFICIENT_SCOPE = Refusal(403, "auth/insufficient-scope", "Your account lacks the role this needs.")
UNAVAILABLE = Refusal(503, "auth/unavailable", "The service is temporarily unavailable; please retry shortly.")

RETRY_AFTER_SECONDS = 1


class AuthError(Exception):
    """A request the resource server must refuse; the integrations turn it into the JSON answer."""

    def __init__(self, refusal: Refusal, message: str | None = None) -> None:
        super().__init__(message or refusal.message)
        self.refusal = refusal
        self.message = message or refusal.message

    @property
    def status(self) -> int:
        return self.refusal.status

    @property
    def code(self) -> str:
        return self.refusal.code

    def body(self) -> dict[str, Any]:
        return {"status": "error", "code": self.code, "message": self.message}

    def headers(self) -> dict[str, str]:
        """RFC 6750 §3: a 401 or 403 names the Bearer scheme, and the error when a token was sent; a 503 says
        when to retry (RFC 9110 §10.2.3)."""
        if self.refusal is TOKEN_MISSING:
            return {"WWW-Authenticate": "Bearer"}
        if self.status in (401, 403):
            error = "invalid_token" if self.status == 401 else "insufficient_scope"
            return {"WWW-Authenticate": f'Bearer error="{error}", error_description="{_quoted(self.message)}"'}
        if self.status == 503:
            return {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return {}


def _quoted(text: str) -> str:
    """A quoted-string of RFC 9110 §5.6.4 may not hold `"` or `\\` unescaped; ours never needs them."""
    return text.replace("\\", "").replace('"', "'")
