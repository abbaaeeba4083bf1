"""A second factor as services/mfa keeps it: its secret (TOTP) or public key (WebAuthn), and how it was last used.

Which factors are active is the user document's list (services/users FactorRef): a record here that the user does not
list is not in force (a step that a fault cut short, cleaned away when it is seen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.users import FactorRef, FactorType


@dataclass(frozen=True)
class PasskeyCredential:
    """A WebAuthn credential (W3C WebAuthn Level 3 §4, "credential record")."""

    credential_id: bytes
    public_key: bytes  # COSE_Key
    sign_count: int
    transports: tuple[str, ...] = ()
    aaguid: str = ""
    multi_device: bool = False  # a synced passkey (backup eligible): RFC 8176 `swk`, else `hwk`
    backed_up: bool = False


@dataclass(frozen=True)
class Factor:
    id: str
    uid: str
    type: FactorType
    name: str
    created_at: int
    last_used_at: int | None = None
    secret: str = ""  # TOTP: the sealed secret (services/mfa/encryption.py)
    last_step: int = -1  # TOTP: the last time step accepted; it and every earlier one are refused from then on
    credential: PasskeyCredential | None = None

    @property
    def ref(self) -> FactorRef:
        return FactorRef(id=self.id, type=self.type, name=self.name)

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "name": self.name, "created_at": self.created_at,
                "last_used_at": self.last_used_at}
