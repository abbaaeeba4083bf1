"""What a mailed link that proves the account's address ends: account pre-hijacking (Sudhodanan and Paverd,
"Pre-hijacked accounts", USENIX Security 2022).

Anyone can sign up with an address they do not own. Until the address is proven, whatever is attached to that
account may be a stranger's: the sessions of whoever signed up (the unexpired-session attack), a provider
identity they linked (the trojan identifier), an address change they asked for and can confirm later (the
unexpired email change). When the owner of the address proves it, by a password reset or a verification
link, the account becomes theirs alone: every session ends, a pending address change is dropped and every
linked identity is removed. The mail that follows says what went.

A reset does so even when the address was verified already: it is also how an owner takes an account back
from someone who held it for a while, and an identity that someone linked meanwhile would let them straight
back in. A provider that vouches for the account's address links itself again at its next sign-in
(services/social/accounts.py); any other is linked again from the account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.operations import AuditLog
from services.sessions import SessionService
from services.social import IdentityStore
from services.users import User


@dataclass(frozen=True)
class ProvenAddress:
    user: User  # as stored after the proof
    unlinked: tuple[str, ...]  # the providers whose identities were removed
    dropped_change: str  # the address a pending change would have moved the account to, or ""
    sessions_ended: bool  # whether any session was live before the proof


class AddressProof:
    def __init__(self, *, sessions: SessionService, identities: IdentityStore, audit: AuditLog) -> None:
        self._sessions = sessions
        self._identities = identities
        self._audit = audit

    async def prove(self, user: User, changes: dict[str, Any], via: str, ip: str) -> ProvenAddress:
        """Store `changes` with the address verified, and end what was attached before: `user` is the account as
        the link found it. `via`: "reset" or "verify", for the audit log."""
        linked = await self._identities.list(user.uid)
        if linked:
            await self._identities.unlink_all(user.uid)
        unlinked = tuple(identity.provider for identity in linked)
        pending = user.pending_email_change
        sessions_ended = bool(await self._sessions.list(user.uid))
        updated = await self._sessions.end_all(user.uid, {**changes, "email_verified": True, "email_change": None})
        if unlinked or pending or sessions_ended:
            self._audit.record("address.proven", uid=user.uid, ip=ip, via=via, unlinked=",".join(unlinked),
                               dropped_change=pending is not None, sessions_ended=sessions_ended)
        return ProvenAddress(updated, unlinked, pending.email if pending else "", sessions_ended)
