"""Who is calling: the per-request check of a token against the signature, its session and its user's epoch.

A token is good while its signature and claims check out (services/tokens), its session still exists and its
epoch is not older than the user's. One Redis MGET per authenticated request reads the epoch, the session and the
user's version; the user comes from this process's copy while that version stands (services/users/cache.py), so
a request whose token and user were seen before reads nothing else.
"""

from __future__ import annotations

from services.context import Caller
from services.outcomes import TOKEN_REVOKED, AuthError, ServiceUnavailable
from services.sessions.epochs import TokenEpochs
from services.sessions.store import SessionStore
from services.tokens import TokenService, TokenType
from services.users import UserStore


class Authenticator:
    def __init__(self, *, tokens: TokenService, users: UserStore, store: SessionStore, epochs: TokenEpochs) -> None:
        self._tokens = tokens
        self._users = users
        self._store = store
        self._epochs = epochs

    async def authenticate(self, token: str | None, token_type: TokenType = "access_token") -> Caller:  # noqa: S107
        claims = self._tokens.verify(token, token_type)
        uid = claims.subject
        # The version is read before the user document is (when it must be read): the order that makes a copy
        # kept under that version safe (services/users/versions.py).
        state = await self._store.token_state(uid, claims.session_id)
        if state.session is None:
            raise AuthError(TOKEN_REVOKED)
        # A missing epoch is refilled from the stored user, read from MongoDB for that, never from a copy.
        user = self._users.cached(uid, state.user_version) if state.epoch is not None else None
        if user is None:
            user = await self._users.current(uid, state.user_version)
        if user is None or user.disabled:
            raise AuthError(TOKEN_REVOKED)
        current = state.epoch if state.epoch is not None else await self._epochs.raise_to(uid, user.token_epoch)
        if claims.epoch < max(current, user.token_epoch):
            raise AuthError(TOKEN_REVOKED)
        return Caller(claims=claims, user=user)

    async def live_holder(self, token: str | None) -> Caller | None:
        """The caller a token proves, when it is a live access token or a refresh token its session still honours.

        A refresh token counts only while its session would still refresh with it: one rotated out twice is a
        copy the owner no longer holds (a stolen one, at best), and must vouch for nobody.
        """
        if not token:
            return None
        for token_type in ("access_token", "refresh_token"):
            try:
                caller = await self.authenticate(token, token_type)  # type: ignore[arg-type]
            except ServiceUnavailable:
                raise  # "cannot tell now" is not "nobody": a revocation must not report success it never had
            except AuthError:
                continue
            claims = caller.claims
            if claims.token_type == "access_token":  # noqa: S105 (a token kind, not a secret)
                return caller
            return caller if await self._store.accepts(caller.uid, claims.session_id, claims.token_id) else None
        return None

