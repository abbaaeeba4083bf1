"""Refresh: trade a refresh token for a new pair, rotating it; see services/sessions/store.py for the reuse rules."""

from __future__ import annotations

import logging
import uuid

from services.context import Client, TokenPair
from services.operations import NO_OBSERVER, AuditLog, Observer
from services.outcomes import TOKEN_REVOKED, AuthError
from services.sessions.access import AccessTokens
from services.sessions.authenticator import Authenticator
from services.sessions.store import Rotation, SessionStore
from services.tokens import TokenService

log = logging.getLogger("auth.sessions")


class RefreshRotation:
    def __init__(self, *, authenticator: Authenticator, store: SessionStore, tokens: TokenService,
                 audit: AuditLog, observer: Observer = NO_OBSERVER,
                 access: AccessTokens | None = None) -> None:
        self._authenticator = authenticator
        self._access = access or AccessTokens(tokens=tokens)
        self._store = store
        self._tokens = tokens
        self._audit = audit
        self._observer = observer

    async def refresh(self, refresh_token: str | None, client: Client) -> TokenPair:
        try:
            pair = await self._refresh(refresh_token, client)
        except AuthError as exc:
            self._observer.refresh_finished(exc.code)
            raise
        self._observer.refresh_finished("success")
        return pair

    async def _refresh(self, refresh_token: str | None, client: Client) -> TokenPair:
        caller = await self._authenticator.authenticate(refresh_token, "refresh_token")
        claims, user = caller.claims, caller.user
        rotation, current_jti, assurance = await self._store.rotate(
            user.uid, claims.session_id, claims.token_id, str(uuid.uuid4()), client.ip, client.user_agent)
        if rotation in (Rotation.REUSED, Rotation.MISSING):
            if rotation is Rotation.REUSED:
                log.warning("refresh token reuse: session %s of user %s ended", claims.session_id, user.uid)
                self._audit.record("refresh.reuse_detected", uid=user.uid, sid=claims.session_id, ip=client.ip)
            raise AuthError(TOKEN_REVOKED)
        # No login counts are cleared here: a refresh proves a session, not the password, and clearing them would
        # give a guesser a fresh allowance whenever the owner's app refreshes (tests/limits/test_rate_limits.py).
        self._audit.record("refresh", uid=user.uid, sid=claims.session_id, ip=client.ip,
                           replayed=rotation is Rotation.REPLAYED)
        epoch = claims.epoch
        return TokenPair(
            access=await self._access.issue(user, epoch, claims.session_id, assurance=assurance),
            refresh=self._tokens.issue(user.uid, "refresh_token", epoch, claims.session_id, token_id=current_jti),
            assurance=assurance,
        )
