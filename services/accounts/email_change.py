"""Changing the account's address (`PATCH /user {"email"}`): GoTrue's secure email change, made safe for seed clients.

A stolen token, even an old one, must not be enough to move an account to another mailbox and then reset its
password there. So a change is only a request (`PendingEmailChange` on the user) until the mailboxes agree:

- the new address always confirms, by the link mailed to it: it proves the address, which the account then
  has verified;
- when the token was not fresh (`fresh_token: true` at login), the current address confirms too;
- the current address is always told, with a link that cancels the change and ends every session;
- until the change completes the account keeps its address: logins and resets use it. Completing it ends
  every token (the epoch, in the same write as the new address) and tells the old address.

The answer is the seed's (`auth/changed-email`), whatever the new address: one that another account has gets
the same answer, at the same cost, and its owner a notice instead of a link (decided by the mail worker), so
the request tells nobody which addresses have accounts. The session that asked ends, as the seed's "You may
now login again" says; the others carry on until the change completes. A newer request replaces the older
(its links stop working); asking for the current address drops the pending one; a password reset or a
verification of the current address drops it too (services/accounts/proof.py): a thief who asked for a change
cannot complete it after the owner has recovered the account.
"""

from __future__ import annotations

import secrets
import time

from services.context import Caller, Client
from services.infra import Outbox
from services.limits import Throttle
from services.mail import EmailChanged, EmailChangeNotice, EmailChangeRequested, MailMessage
from services.operations import AuditLog
from services.outcomes import (
    EMAIL_CHANGE_COMPLETED,
    EMAIL_CHANGE_CONFIRMED,
    EMAIL_CHANGE_NOT_FOUND,
    FRESH_TOKEN_REQUIRED,
    LINK_EXPIRED,
    LINK_INVALID,
    TOKEN_REVOKED,
    AuthError,
    Outcome,
)
from services.sessions import SessionService, require_step_up
from services.tokens import EMAIL_CHANGE_CONFIRMATIONS, ActionLinks, Purpose
from services.users import PendingEmailChange, User, UserStore, deliverable, normalize_email


class EmailChange:
    def __init__(self, *, users: UserStore, sessions: SessionService, links: ActionLinks, outbox: Outbox[MailMessage],
                 throttle: Throttle, audit: AuditLog, lifetime: int) -> None:
        self._users = users
        self._sessions = sessions
        self._links = links
        self._outbox = outbox
        self._throttle = throttle
        self._audit = audit
        self._lifetime = lifetime

    async def request(self, caller: Caller, email: str, client: Client) -> None:
        address = normalize_email(email)
        user = caller.user
        if address == user.email:  # "keep my address": whatever was pending is dropped
            pending = user.pending_email_change
            if pending is not None and await self._users.drop_email_change(user.uid, pending.id):
                self._audit.record("email.change_cancelled", uid=user.uid, sid=caller.session_id, ip=client.ip)
            return
        require_step_up(caller, fresh=False)  # a stale token has the current address's confirmation as its rule
        # An anonymous account has only its sessions (services/passwordless/anonymous.py): the new address alone
        # confirms, and the session that asked carries on, since it could not log in again.
        anonymous = user.is_anonymous
        fresh = caller.claims.fresh or anonymous
        if not fresh and not deliverable(user.email):
            # A placeholder address (a provider gave none it vouches for) cannot confirm anything: only a fresh
            # sign-in may then vouch for the change.
            raise AuthError(FRESH_TOKEN_REQUIRED)
        now = int(time.time())
        change = PendingEmailChange(id=secrets.token_hex(16), email=address, requested_at=now,
                                    expires_at=now + self._lifetime, current_must_confirm=not fresh)
        # Only while the caller's tokens stand: a reset or "log out everywhere" a moment ago wins over this.
        if await self._users.start_email_change(user.uid, user.token_epoch, change) is None:
            raise AuthError(TOKEN_REVOKED)
        if not anonymous:
            await self._sessions.logout(caller, client.ip)
        self._audit.record("email.change_requested", uid=user.uid, sid=caller.session_id, ip=client.ip, fresh=fresh)
        # The notice is a security message, sent whatever the quota: a quota a stranger filled up must not hide
        # an attempt to take the account over. The new address is mailed within its quota, as any unasked mail.
        await self._outbox.enqueue(EmailChangeNotice(uid=user.uid, change_id=change.id))
        if await self._throttle.mail_to(address, enforce=False):
            await self._outbox.enqueue(EmailChangeRequested(uid=user.uid, change_id=change.id))

    def pending(self, caller: Caller) -> PendingEmailChange | None:
        return caller.user.pending_email_change

    async def withdraw(self, caller: Caller, client: Client) -> None:
        """`DELETE /user/email-change`: the signed-in user drops their own pending change."""
        pending = caller.user.pending_email_change
        if pending is None or not await self._users.drop_email_change(caller.uid, pending.id):
            raise AuthError(EMAIL_CHANGE_NOT_FOUND)
        self._audit.record("email.change_cancelled", uid=caller.uid, sid=caller.session_id, ip=client.ip)

    # --- the mailed links ---------------------------------------------------------------------------------

    async def check(self, token: str | None) -> tuple[User, Purpose]:
        """The user and the kind of a confirmation link, while it is usable; it stays unused."""
        return await self._links.check_any(token, EMAIL_CHANGE_CONFIRMATIONS)

    async def check_cancellation(self, token: str | None) -> User:
        return await self._links.check(token, "email-cancel")

    async def confirm(self, token: str | None, ip: str) -> tuple[Outcome, User]:
        """One address confirms; the change completes once every address it needs has."""
        user, purpose = await self._links.check_any(token, EMAIL_CHANGE_CONFIRMATIONS)
        change = user.email_change
        await self._links.consume(token, purpose)
        side = "new" if purpose == "email-new" else "current"
        marked = await self._users.confirm_email_change(user.uid, change.id, side) if change else None
        if marked is None or marked.email_change is None:
            raise AuthError(LINK_EXPIRED if change is not None and change.expired else LINK_INVALID)
        self._audit.record("email.change_confirmed", uid=user.uid, ip=ip, address=side)
        if not marked.email_change.complete:
            return EMAIL_CHANGE_CONFIRMED, marked
        return EMAIL_CHANGE_COMPLETED, await self._complete(marked, marked.email_change, ip)

    async def cancel(self, token: str | None, ip: str) -> User:
        """The current address's cancel link: no change, and every session ends, since the notice it came with
        may be the owner's first sign that someone else holds a token of theirs."""
        user = await self._links.consume(token, "email-cancel")
        updated = await self._sessions.end_all(user.uid, {"email_change": None})
        self._audit.record("email.change_cancelled", uid=user.uid, ip=ip, by="link")
        return updated

    async def _complete(self, user: User, change: PendingEmailChange, ip: str) -> User:
        # An anonymous account becomes a full one here, keeping the sessions it had (they are all it had).
        done = await self._users.complete_email_change(user.uid, change, end_tokens=not user.is_anonymous)
        if done is None:  # both addresses confirmed at once and the other click completed it; or it was dropped
            current = await self._users.find_by_uid(user.uid)
            if current is not None and current.email == change.email:
                return current
            raise AuthError(LINK_INVALID)
        # The write above raised the epoch, which ends every token; this ends the sessions and refreshes the
        # epoch Redis caches.
        if not user.is_anonymous:
            await self._sessions.end_all(user.uid)
        self._audit.record("email.changed", uid=user.uid, ip=ip, **({"upgraded": True} if user.is_anonymous else {}))
        await self._outbox.enqueue(EmailChanged(uid=user.uid, old_email=user.email))
        return done
