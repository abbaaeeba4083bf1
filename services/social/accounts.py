"""Which user a provider's identity stands for: found, linked or created, and the links a user keeps.

Kept apart from services/social/service.py, which talks to the providers (states, PKCE, code exchange, token checks)
and hands over only an identity a provider has vouched for; every decision about our accounts is made here.

Linking rules (no account takeover through a provider's say-so, and no pre-hijacked account: Sudhodanan and
Paverd, "Pre-hijacked accounts", 2022):
- an identity (provider, subject) seen before signs in its own user, whatever the emails say now;
- a new identity whose email matches an existing account is linked to it only when the provider asserts
  that exact address is verified AND the account's own address is verified; otherwise `auth/account-exists`:
  the owner logs in and links the provider from there;
- a signed-in user links a provider only once the account's address is verified (`auth/email-not-verified`),
  or while it has a placeholder address nobody can prove: an identity linked to an unverified address could be
  a stranger's way into the account its owner later recovers (the trojan identifier);
- otherwise a new user is made, with the provider's name, no password (password login fails for it like a
  wrong password until the user sets one) and the provider's address only when the provider asserts it is
  verified: an address it does not vouch for could be anyone's (the non-verifying identity provider), so the
  account gets a placeholder (`<provider>-<hash>@users.invalid`) until the user proves an address of their
  own with `PATCH /user {"email"}`.
"""

from __future__ import annotations

from services.context import Caller, Client, TokenPair
from services.infra import UserLocks
from services.operations import AuditLog
from services.outcomes import (
    ACCOUNT_EXISTS,
    EMAIL_IN_USE,
    EMAIL_NOT_VERIFIED,
    IDENTITY_IN_USE,
    IDENTITY_NOT_FOUND,
    INVALID_NAME,
    LAST_SIGN_IN_METHOD,
    SIGNUP_DISABLED,
    TOKEN_REVOKED,
    USER_DISABLED,
    AuthError,
)
from services.sessions import SessionService
from services.social.identities import IdentityStore, LinkedIdentity
from services.social.provider import ProviderIdentity
from services.tokens import FEDERATED, Assurance
from services.users import User, UserStore, clean_name, deliverable, normalize_email, placeholder_address


class SocialAccounts:
    """The accounts behind social sign-in: used by SocialLoginService once a provider has vouched, and by
    the /user/identities routes, which need no provider at all."""

    def __init__(self, *, identities: IdentityStore, users: UserStore, sessions: SessionService, audit: AuditLog,
                 locks: UserLocks, disable_signup: bool) -> None:
        self._identities = identities
        self._users = users
        self._sessions = sessions
        self._audit = audit
        self._locks = locks
        self._disable_signup = disable_signup

    async def sign_in(self, vouched: ProviderIdentity, fresh: bool, client: Client) -> tuple[User, TokenPair]:
        # One sign-in of an identity at a time: two first sign-ins at once (a double tap, two devices) would both
        # find no user and both make one, and one of them would then answer account-exists.
        async with self._locks.hold(_identity_ref(vouched), "sign-in"):
            user = await self._user_for(vouched, client)
        self._refuse_disabled(user, client, vouched.provider)
        tokens, session = await self._sessions.start(user, fresh, client, Assurance.single(FEDERATED))
        self._audit.record("login.ok", uid=user.uid, sid=session.id, ip=client.ip, fresh=fresh,
                           provider=vouched.provider)
        return user, tokens

    async def link(self, uid: str, vouched: ProviderIdentity, client: Client) -> None:
        """Link the identity to the user who started linking; that user may be gone or disabled since."""
        user = await self._users.find_by_uid(uid)
        if user is None:
            raise AuthError(TOKEN_REVOKED)
        self._refuse_disabled(user, client, vouched.provider)
        self.check_may_link(user)
        await self._link(user, vouched, client)
        # A linked identity is a way back in: an anonymous account is a full one from now on, sessions and all.
        if user.is_anonymous and await self._users.end_anonymity(user.uid):
            self._audit.record("account.upgraded", uid=user.uid, ip=client.ip, via=vouched.provider)

    @staticmethod
    def check_may_link(user: User) -> None:
        """A signed-in user links a provider only to a proven address, or to a placeholder nobody can prove."""
        if not user.email_verified and deliverable(user.email):
            raise AuthError(EMAIL_NOT_VERIFIED, "Verify your email address before you link a sign-in provider: "
                                                "follow the link in the mail we sent you.")

    async def identities(self, caller: Caller) -> list[LinkedIdentity]:
        return await self._identities.list(caller.user.uid)

    async def unlink(self, caller: Caller, name: str, client: Client) -> None:
        """Remove a link, never the last way in (a password, another identity or a passkey): the count and the delete
        run under the user's lock, which removing a passkey holds too (services/mfa), so two concurrent removals of
        an account's last two ways in cannot both see "two left"; the user is read again under it."""
        async with self._locks.hold(caller.uid, "identity"):
            user = await self._users.find_by_uid(caller.uid) or caller.user
            linked = await self.identities(caller)
            if not any(item.provider == name for item in linked):
                raise AuthError(IDENTITY_NOT_FOUND)
            if not user.has_password and not user.passkeys and len(linked) == 1:
                raise AuthError(LAST_SIGN_IN_METHOD)
            if not await self._identities.unlink(user.uid, name):
                raise AuthError(IDENTITY_NOT_FOUND)
        self._audit.record("identity.unlinked", uid=user.uid, sid=caller.claims.session_id, ip=client.ip,
                           provider=name)

    async def _user_for(self, vouched: ProviderIdentity, client: Client) -> User:
        known = await self._identities.find(vouched.provider, vouched.subject)
        if known is not None:
            user = await self._users.find_by_uid(known.uid)
            if user is not None:
                return user
            await self._identities.unlink(known.uid, vouched.provider)  # its user is gone
        email = _address(vouched.email)
        existing = await self._users.find_by_email(email) if email else None
        if existing is not None:
            if not (vouched.email_verified and existing.email_verified):
                raise AuthError(ACCOUNT_EXISTS)
            self._refuse_disabled(existing, client, vouched.provider)  # before a link is made to it
            await self._link(existing, vouched, client)
            return existing
        return await self._create(vouched, email, client)

    async def _create(self, vouched: ProviderIdentity, email: str | None, client: Client) -> User:
        if self._disable_signup:
            raise AuthError(SIGNUP_DISABLED)
        # No address the provider vouches for: a unique placeholder in the reserved .invalid domain (RFC 2606),
        # which the user can replace with PATCH /user {"email"}.
        verified = bool(email) and vouched.email_verified
        address = email if email and verified else placeholder_address(vouched.provider, vouched.subject)
        made = True
        try:
            user = await self._users.create(address, _display_name(vouched, email or address), "",
                                            email_verified=verified, method="social", provider=vouched.provider)
        except AuthError as exc:
            if exc.outcome is not EMAIL_IN_USE:
                raise
            # Someone took the address a moment ago (account-exists); but an address made up from this very
            # identity can only be ours: a sign-up whose user was stored while MongoDB answered 503. Finish it.
            found = None if address == email else await self._users.find_by_email(address)
            if found is None:
                raise AuthError(ACCOUNT_EXISTS) from None
            user, made = found, False
        try:
            await self._identities.link(user.uid, vouched)
        except AuthError as exc:
            # The same identity signed in twice at once: keep the first user, drop ours.
            if made:
                await self._users.delete(user.uid)
            winner = await self._identities.find(vouched.provider, vouched.subject)
            found = await self._users.find_by_uid(winner.uid) if winner else None
            if found is None:
                raise exc from None
            return found
        self._audit.record("signup", uid=user.uid, ip=client.ip, provider=vouched.provider)
        return user

    def _refuse_disabled(self, user: User, client: Client, provider: str) -> None:
        """An account an administrator disabled signs in through no provider either (as with a password)."""
        if user.disabled:
            self._audit.record("login.disabled", uid=user.uid, ip=client.ip, provider=provider)
            raise AuthError(USER_DISABLED)

    async def _link(self, user: User, vouched: ProviderIdentity, client: Client) -> None:
        known = await self._identities.find(vouched.provider, vouched.subject)
        if known is not None:
            if known.uid != user.uid:
                raise AuthError(IDENTITY_IN_USE)
            return
        await self._identities.link(user.uid, vouched)
        self._audit.record("identity.linked", uid=user.uid, ip=client.ip, provider=vouched.provider)


def _identity_ref(vouched: ProviderIdentity) -> str:
    """The identity's name in lock keys: the local part of its placeholder address (never the subject itself)."""
    return placeholder_address(vouched.provider, vouched.subject).partition("@")[0]


def _address(email: str | None) -> str | None:
    if not email:
        return None
    try:
        return normalize_email(email)
    except AuthError:
        return None


def _display_name(vouched: ProviderIdentity, address: str) -> str:
    for candidate in (vouched.name, address.split("@")[0], vouched.provider):
        try:
            return clean_name(candidate)
        except AuthError as exc:
            if exc.outcome is not INVALID_NAME:
                raise
    return vouched.provider
