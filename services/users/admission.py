"""Who may sign up: the one question every new account passes through, whatever made it (a password sign-up, a
social sign-in, an admin, and the passwordless and anonymous sign-ups to come), asked by `UserStore.create`
right before the account is written, so no path can forget it.

The answer comes from a `SignupGate`: open by default, the `before_signup` hook when one is configured
(services/hooks/). A gate that refuses raises `AuthError(SIGNUP_REJECTED)`: no account is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

SignupMethod = Literal["password", "social", "admin", "otp", "magic_link", "anonymous"]


@dataclass(frozen=True)
class SignupCandidate:
    """What is known of an account about to be made: never a password or its hash."""

    email: str
    name: str
    method: SignupMethod
    email_verified: bool = False
    provider: str | None = None  # the social provider, for method "social"
    app_metadata: dict[str, Any] | None = field(default=None)

    def public(self) -> dict[str, Any]:
        return {"email": self.email, "name": self.name, "method": self.method, "email_verified": self.email_verified,
                **({"provider": self.provider} if self.provider else {}),
                **({"app_metadata": self.app_metadata} if self.app_metadata else {})}


class SignupGate(Protocol):
    async def admit(self, attempt: SignupCandidate) -> None:
        """Return to let the account be made; raise AuthError to refuse it."""


class OpenSignups:
    """The gate without a `before_signup` hook: every sign-up the rest of the rules allow."""

    async def admit(self, attempt: SignupCandidate) -> None:
        return None
