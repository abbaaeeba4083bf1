"""A user as the services see it: one MongoDB document, typed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
    # Written before the sign-up's verification mail is queued, cleared after: set, a fault cut the sign-up short
    # and its retry (the same password) may finish it (services/accounts/service.py).
    signup_pending: bool = False

    @property
    def has_password(self) -> bool:
        """Accounts made by a social sign-in have none until the user sets one (PATCH /user with a fresh token)."""
        return bool(self.password_hash)

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> User:
        return cls(uid=doc["_id"], email=doc["email"], name=doc["name"], password_hash=doc["password_hash"],
                   email_verified=doc.get("email_verified", False), created_at=doc["created_at"],
                   updated_at=doc["updated_at"], token_epoch=doc.get("token_epoch", 0),
                   picture=doc.get("picture"), disabled=doc.get("disabled", False),
                   signup_pending=doc.get("signup_pending", False))
