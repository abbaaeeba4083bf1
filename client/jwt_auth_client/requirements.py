"""What an endpoint may ask of a token beyond being live: a fresh login, an assurance level, a role.

Each helper returns a `Requirement`, a callable that raises AuthError when the token falls short; the
integrations take any number of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from jwt_auth_client.errors import FRESH_TOKEN_REQUIRED, INSUFFICIENT_SCOPE, MFA_REQUIRED, AuthError
from jwt_auth_client.token import AAL_LEVELS, VerifiedToken

Requirement = Callable[[VerifiedToken], None]


def require_fresh() -> Requirement:
    """A token from a login with `fresh_token: true` (refreshed tokens never are): for what could hand over an
    account, as the auth server asks for a password change. 401 `auth/fresh-token-required`."""

    def check(token: VerifiedToken) -> None:
        if not token.fresh:
            raise AuthError(FRESH_TOKEN_REQUIRED)

    return check


def require_aal(level: str) -> Requirement:
    """At least this authenticator assurance level (`aal2`: a second factor was used). 403 `auth/mfa-required`."""
    if level not in AAL_LEVELS:
        raise ValueError(f"level must be one of {', '.join(AAL_LEVELS)}")
    wanted = AAL_LEVELS.index(level)

    def check(token: VerifiedToken) -> None:
        if AAL_LEVELS.index(token.aal) < wanted:
            raise AuthError(MFA_REQUIRED)

    return check


def require_role(*roles: str) -> Requirement:
    """One of these roles in the token's `app_metadata.roles` (set by administrators only).
    403 `auth/insufficient-scope` (RFC 6750 §3.1's insufficient_scope)."""
    if not roles:
        raise ValueError("name at least one role")
    allowed = frozenset(roles)

    def check(token: VerifiedToken) -> None:
        if not token.roles & allowed:
            raise AuthError(INSUFFICIENT_SCOPE, f"This needs the role {' or '.join(sorted(allowed))}.")

    return check


def check_all(token: VerifiedToken, requirements: Iterable[Requirement]) -> VerifiedToken:
    for requirement in requirements:
        requirement(token)
    return token
