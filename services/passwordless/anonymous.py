"""Anonymous accounts (`POST /signup/anonymous`, `ANONYMOUS_SIGNUP`): a user with a uid, sessions and tokens but no
address, password or number, as GoTrue's and Firebase's anonymous sign-ins make. Its access tokens carry
`is_anonymous: true` (services/sessions/service.py) and its user object says so.

Its sessions are its only credential, so nothing asks it for a fresh token (it could not log in again to get one),
and nothing that upgrades it ends them. It becomes a full account, keeping its uid and its sessions, when it gets a
way back in: an email address proven by its link (`PATCH /user {"email"}`, then a password with `PATCH /user
{"password"}` if it wants one), a phone number proven by its code, a linked social identity, or a passkey (issue 15
calls `UserStore.end_anonymity` when one is added). `users purge-anonymous --older-than 30d` deletes the ones never
upgraded, as everything else is deleted: picture, identities, sessions.
"""

from __future__ import annotations

import time

from services.accounts import AccountLifecycle
from services.captcha import Captcha
from services.context import Client, TokenPair
from services.operations import AuditLog
from services.outcomes import ANONYMOUS_SIGNUP_DISABLED, AuthError
from services.passwordless.accounts import PasswordlessAccounts
from services.sessions import SessionService
from services.tokens import Assurance
from services.users import User, UserStore

ANONYMOUS = Assurance.single()  # aal1, by no method RFC 8176 names: nothing was proven but holding the session
PURGE_BATCH = 100


class AnonymousAccounts:
    def __init__(self, *, accounts: PasswordlessAccounts, users: UserStore, sessions: SessionService,
                 lifecycle: AccountLifecycle, captcha: Captcha, audit: AuditLog, enabled: bool) -> None:
        self._accounts = accounts
        self._users = users
        self._sessions = sessions
        self._lifecycle = lifecycle
        self._captcha = captcha
        self._audit = audit
        self._enabled = enabled

    async def sign_up(self, client: Client) -> tuple[User, TokenPair]:
        if not self._enabled:
            raise AuthError(ANONYMOUS_SIGNUP_DISABLED)
        await self._captcha.require(client)
        user = await self._accounts.create(client)
        pair, session = await self._sessions.start(user, False, client, ANONYMOUS)
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, method="anonymous")
        return user, pair

    async def purge(self, older_than_seconds: int) -> int:
        """Delete every anonymous account made more than `older_than_seconds` ago; returns how many went."""
        cutoff = int(time.time()) - older_than_seconds
        purged = 0
        while batch := await self._users.anonymous_before(cutoff, PURGE_BATCH):
            for user in batch:
                await self._lifecycle.delete(user)
            purged += len(batch)
        self._audit.record("anonymous.purged", count=purged, older_than=older_than_seconds)
        return purged
