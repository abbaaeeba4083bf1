"""What a verified access token says: its claims, typed, plus the ones other parts of the server add."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

AAL_LEVELS = ("aal1", "aal2", "aal3")


@dataclass(frozen=True, eq=False)
class VerifiedToken:
    """An access token whose signature and claims checked out (and, with a revocation check, still live)."""

    subject: str  # `sub`: the user's uid
    session_id: str  # `sid`
    token_id: str  # `jti`
    epoch: int
    issued_at: int
    expires_at: int
    fresh: bool  # from a login with `fresh_token: true`
    key_id: str
    claims: Mapping[str, Any]  # every claim, read-only
    raw: str = field(repr=False)  # the token itself, for introspection; never in a repr or a log line

    @property
    def aal(self) -> str:
        """The authenticator assurance level (NIST 800-63B); tokens from before second factors are `aal1`."""
        value = self.claims.get("aal")
        return value if value in AAL_LEVELS else "aal1"

    @property
    def amr(self) -> tuple[str, ...]:
        """How the user authenticated (RFC 8176 values), when the token says."""
        value = self.claims.get("amr")
        return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()

    @property
    def app_metadata(self) -> Mapping[str, Any]:
        """What only administrators set, e.g. `{"roles": ["editor"]}`."""
        value = self.claims.get("app_metadata")
        return value if isinstance(value, Mapping) else {}

    @property
    def roles(self) -> frozenset[str]:
        value = self.app_metadata.get("roles")
        return frozenset(role for role in value if isinstance(role, str)) if isinstance(value, list) else frozenset()
