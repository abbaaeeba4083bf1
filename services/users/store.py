"""Users in MongoDB (PyMongo's asyncio driver, or the in-memory store of the embedded default), one document each.

Document: `_id` (the uid, a UUID string), `email` (normalized, unique), `email_key` (what a person reads in the
address, services/users/fields.py: unique too, so a lookalike is taken as well), `name`, `password_hash`,
`email_verified`, `created_at`/`updated_at` (unix seconds), `token_epoch` (the durable copy of the revocation
counter Redis serves on the hot path), `picture` (its storage key, or null), `disabled`, `email_change` (a
PendingEmailChange, or null), `signup_pending`, and, absent until set, `app_metadata`, `user_metadata`, `phone`,
`is_anonymous` and `mfa_factors` (id, type, name). Every query is built from typed values: nothing from a request
body reaches a filter as an operator.

Every write changes the user's version in Redis around its MongoDB write (services/users/versions.py), so the
copies processes keep for authenticated requests (`current`, services/users/cache.py) are never served after a
change made through any of them. A new write method goes through `_written` too.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.infra import Index, IndexBuild, mongo_guarded, mongo_guarded_bulk, mongo_outages
from services.outcomes import EMAIL_IN_USE, PHONE_IN_USE, AuthError, ServiceUnavailable
from services.users.admission import OpenSignups, SignupCandidate, SignupGate, SignupMethod
from services.users.cache import UserCache
from services.users.fields import email_key
from services.users.models import ConfirmingAddress, PendingEmailChange, User
from services.users.pages import PageRequest, page_filter
from services.users.versions import UserVersions
from services.users.ways_in import WaysInWrites

T = TypeVar("T")
log = logging.getLogger("auth.users")
PRIVATE_FIELDS = frozenset({"password_hash"})  # never leave the server, not even in the user's own data export
# `email_key` is sparse: users stored by an earlier version have none until the backfill below gives them one.
INDEXES = (Index((("email", 1),), "email_unique", unique=True),
           Index((("email_key", 1),), "email_key_unique", unique=True, sparse=True),
           Index((("picture", 1),), "picture", sparse=True),
           Index((("phone", 1),), "phone_unique", unique=True, sparse=True),
           Index((("is_anonymous", 1),), "anonymous", sparse=True),
           Index((("created_at", 1), ("_id", 1)), "created_at_id"))  # the admin API's keyset pages (pages.py)


class UserStore(WaysInWrites):
    """The MongoDB collection behind `User`; works the same on MongoDB and on the in-memory store."""

    def __init__(self, database: Any, indexes: IndexBuild, versions: UserVersions, cache: UserCache | None = None,
                 collection: str = "users", gate: SignupGate | None = None) -> None:
        super().__init__(database)
        self._users = database[collection]
        self._gate = gate or OpenSignups()
        self._indexes = indexes  # writes wait for the unique indexes (services/infra/index_build.py)
        self.versions = versions
        self._cache = cache if cache is not None else UserCache(size=0, max_age=0)
        indexes.declare(self._users, *INDEXES, then=self._backfill_email_keys)

    # --- the authenticated request's read ------------------------------------------------------------

    def cached(self, uid: str, version: str | None) -> User | None:
        """This process's copy of the user, if it was read under `version` (the one Redis holds now)."""
        return self._cache.get(uid, version)

    async def current(self, uid: str, version: str | None) -> User | None:
        """The user as stored now: read from MongoDB, and kept for the next requests while `version` (read from
        Redis before this call) stays the user's version."""
        if version is None:  # lost, expired or never set: set one before the read, or keep no copy
            version = await self.versions.establish(uid)
        user = await self.find_by_uid(uid)
        if user is not None and version is not None and self.versions.cacheable(version):
            self._cache.put(uid, version, user)
        else:
            self._cache.drop(uid)
        return user

    async def _written(self, uid: str, write: Callable[[], Awaitable[T]]) -> T:
        """Run one MongoDB write of `uid`'s document between its version's pending mark and its settling.

        No mark, no write: a Redis that cannot take the mark answers 503 before MongoDB is touched. A settle that
        cannot reach Redis leaves the mark, which keeps every process reading MongoDB until it expires: the write
        is not reported as failed for it."""
        self._cache.drop(uid)
        mark = await self.versions.mark_pending(uid)
        try:
            return await write()
        finally:
            try:
                await self.versions.settle(uid, mark)
            except ServiceUnavailable:
                log.warning("user %s: version left pending (Redis unreachable); read from MongoDB until it expires",
                            uid)

    # --- reads and writes ----------------------------------------------------------------------------

    @mongo_guarded_bulk
    async def _backfill_email_keys(self) -> None:
        """Give users of an earlier version their `email_key`; one whose address looks like another user's
        keeps none (both accounts stay as they are) and is named in the log for the operator.

        No version changes: `email_key` is no part of `User`, so no process's copy is out of date."""
        async for doc in self._users.find({"email_key": {"$exists": False}}, {"email": 1}):
            try:
                await self._users.update_one({"_id": doc["_id"], "email_key": {"$exists": False}},
                                             {"$set": {"email_key": email_key(doc["email"])}})
            except DuplicateKeyError:
                log.warning("user %s has an address that looks like another user's; it keeps no email_key",
                            doc["_id"])

    async def create(self, email: str, name: str, password_hash: str, email_verified: bool = False,
                     signup_pending: bool = False, *, method: SignupMethod = "password", provider: str | None = None,
                     app_metadata: dict[str, Any] | None = None, user_metadata: dict[str, Any] | None = None,
                     phone: str | None = None, is_anonymous: bool = False) -> User:
        """An empty `password_hash` is an account without a password (made by a social sign-in); `signup_pending`
        marks a sign-up whose last steps are still to come; `phone` a verified number; `is_anonymous` an account
        of `POST /signup/anonymous`. Every sign-up passes the gate first (the `before_signup` hook,
        services/users/admission.py): a refusal writes nothing."""
        await self._gate.admit(SignupCandidate(email=email, name=name, method=method, email_verified=email_verified,
                                             provider=provider, app_metadata=app_metadata))
        now = int(time.time())
        doc = {"_id": str(uuid.uuid4()), "email": email, "email_key": email_key(email), "name": name,
               "password_hash": password_hash, "email_verified": email_verified, "created_at": now,
               "updated_at": now, "token_epoch": 0, "picture": None, "disabled": False, "email_change": None,
               **({"signup_pending": True} if signup_pending else {}),
               **({"app_metadata": app_metadata} if app_metadata else {}),
               **({"user_metadata": user_metadata} if user_metadata else {}),
               **({"phone": str(phone)} if phone else {}), **({"is_anonymous": True} if is_anonymous else {})}
        if not await self._insert(doc):
            raise AuthError(PHONE_IN_USE if phone is not None and await self._phone_taken(phone) else EMAIL_IN_USE)
        return User.from_document(doc)

    async def create_imported(self, email: str, name: str, password_hash: str, email_verified: bool,
                              created_at: int, app_metadata: dict[str, Any] | None = None,
                              user_metadata: dict[str, Any] | None = None) -> User | None:
        """A user moved in from another system (services/imports/), with the hash and creation time it had there;
        None when the address is taken (an import is idempotent by address). No sign-up gate: the account
        exists already, elsewhere."""
        doc = {"_id": str(uuid.uuid4()), "email": email, "email_key": email_key(email), "name": name,
               "password_hash": password_hash, "email_verified": email_verified, "created_at": int(created_at),
               "updated_at": int(time.time()), "token_epoch": 0, "picture": None, "disabled": False,
               "email_change": None, **({"app_metadata": app_metadata} if app_metadata else {}),
               **({"user_metadata": user_metadata} if user_metadata else {})}
        return User.from_document(doc) if await self._insert(doc) else None

    @mongo_guarded
    async def _insert(self, doc: dict[str, Any]) -> bool:
        """One new user document, in one write; False when its address (or one that looks the same) is taken."""
        await self._indexes.required()
        try:  # a new uid: no process can hold a copy of it, so no version to change
            await self._users.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    @mongo_guarded
    async def _phone_taken(self, phone: str) -> bool:
        return await self._users.find_one({"phone": str(phone)}, {"_id": 1}) is not None

    @mongo_guarded
    async def page(self, request: PageRequest) -> list[User]:
        """One page of users in (created_at, _id) order, after the request's cursor (services/users/pages.py)."""
        cursor = self._users.find(page_filter(request)).sort([("created_at", 1), ("_id", 1)]).limit(request.limit)
        return [User.from_document(doc) async for doc in cursor]

    @mongo_guarded
    async def find_by_email(self, email: str) -> User | None:
        doc = await self._users.find_one({"email": str(email)})
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def find_holder(self, email: str) -> User | None:
        """The user who has `email`, or an address a person reads as the same (its `email_key`)."""
        doc = await self._users.find_one({"$or": [{"email": str(email)}, {"email_key": email_key(email)}]})
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def find_by_phone(self, phone: str) -> User | None:
        doc = await self._users.find_one({"phone": str(phone)})
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def find_by_uid(self, uid: str) -> User | None:
        doc = await self._users.find_one({"_id": str(uid)})
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def update(self, uid: str, changes: dict[str, Any], bump_epoch: bool = False) -> User | None:
        """Apply `changes` in one atomic write; `bump_epoch` also ends every token issued so far."""
        if "email" in changes:  # the key always follows the address
            changes = {**changes, "email_key": email_key(changes["email"])}
        update: dict[str, Any] = {"$set": {**changes, "updated_at": int(time.time())}}
        if bump_epoch:
            update["$inc"] = {"token_epoch": 1}
        if "email" in changes:
            await self._indexes.required()
        try:
            doc = await self._written(uid, lambda: self._users.find_one_and_update(
                {"_id": str(uid)}, update, return_document=ReturnDocument.AFTER))
        except DuplicateKeyError:
            raise AuthError(EMAIL_IN_USE) from None
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def finish_signup(self, uid: str) -> None:
        """The sign-up's last step is done: the `signup_pending` mark goes (a finished account never carries it)."""
        await self._written(uid, lambda: self._users.update_one({"_id": str(uid)}, {"$unset": {"signup_pending": ""}}))

    @mongo_guarded
    async def replace_password_hash(self, uid: str, old: str, new: str) -> bool:
        """Store `new` only if the hash is still `old` (a rehash must never undo a password change)."""
        result = await self._written(uid, lambda: self._users.update_one(
            {"_id": str(uid), "password_hash": str(old)}, {"$set": {"password_hash": str(new)}}))
        return result.modified_count == 1

    # --- a pending email change: every write is conditional, so concurrent requests settle in MongoDB ---------

    @mongo_guarded
    async def start_email_change(self, uid: str, epoch: int, change: PendingEmailChange) -> User | None:
        """Record `change` in place of any earlier one, if the user's tokens of `epoch` still stand."""
        doc = await self._written(uid, lambda: self._users.find_one_and_update(
            {"_id": str(uid), "token_epoch": int(epoch)},
            {"$set": {"email_change": change.document(), "updated_at": int(time.time())}},
            return_document=ReturnDocument.AFTER))
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def confirm_email_change(self, uid: str, change_id: str, side: ConfirmingAddress) -> User | None:
        """Mark change `change_id` confirmed by one address; None when it is no longer pending."""
        doc = await self._written(uid, lambda: self._users.find_one_and_update(
            {"_id": str(uid), "email_change.id": str(change_id), "email_change.expires_at": {"$gt": time.time()}},
            {"$set": {f"email_change.{side}_confirmed": True, "updated_at": int(time.time())}},
            return_document=ReturnDocument.AFTER))
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def complete_email_change(self, uid: str, change: PendingEmailChange,
                                    end_tokens: bool = True) -> User | None:
        """Give the user the change's address, proven by its own link, and end every token (the epoch) in
        the same write; None when the change is no longer the pending one. A proven address is a way back in:
        an anonymous account stops being one here (`end_tokens` False: its sessions are all it had)."""
        await self._indexes.required()
        update: dict[str, Any] = {
            "$set": {"email": change.email, "email_key": email_key(change.email), "email_verified": True,
                     "email_change": None, "updated_at": int(time.time())}, "$unset": {"is_anonymous": ""}}
        if end_tokens:
            update["$inc"] = {"token_epoch": 1}
        try:
            doc = await self._written(uid, lambda: self._users.find_one_and_update(
                {"_id": str(uid), "email_change.id": str(change.id)}, update, return_document=ReturnDocument.AFTER))
        except DuplicateKeyError:
            raise AuthError(EMAIL_IN_USE) from None
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def drop_email_change(self, uid: str, change_id: str) -> bool:
        result = await self._written(uid, lambda: self._users.update_one(
            {"_id": str(uid), "email_change.id": str(change_id)},
            {"$set": {"email_change": None, "updated_at": int(time.time())}}))
        return result.modified_count == 1

    @mongo_guarded
    async def swap_picture(self, uid: str, key: str | None) -> tuple[bool, str | None]:
        """Point the user at picture `key` (None: no picture); returns (user found, the key it replaced).

        The replaced key comes from the same atomic write, so two uploads racing each other each learn
        exactly which object they made unreferenced, and no object is left without an owner.
        """
        doc = await self._written(uid, lambda: self._users.find_one_and_update(
            {"_id": str(uid)}, {"$set": {"picture": key, "updated_at": int(time.time())}},
            return_document=ReturnDocument.BEFORE))
        return (doc is not None, doc.get("picture") if doc else None)

    @mongo_guarded
    async def references_picture(self, key: str) -> bool:
        return await self._users.find_one({"picture": str(key)}, {"_id": 1}) is not None

    @mongo_guarded
    async def document(self, uid: str) -> dict[str, Any] | None:
        """The stored document without its private fields (for the user's own data export)."""
        doc = await self._users.find_one({"_id": str(uid)})
        return {k: v for k, v in doc.items() if k not in PRIVATE_FIELDS} if doc else None

    @mongo_guarded
    async def delete(self, uid: str) -> User | None:
        """Remove the user; returns the document as it was at deletion."""
        doc = await self._written(uid, lambda: self._users.find_one_and_delete({"_id": str(uid)}))
        return User.from_document(doc) if doc else None

    async def all(self) -> AsyncIterator[User]:
        """Every user, oldest first, streamed from a cursor."""
        with mongo_outages():
            async for doc in self._users.find({}).sort([("created_at", 1), ("email", 1)]):
                yield User.from_document(doc)

    @mongo_guarded
    async def count(self) -> int:
        return await self._users.count_documents({})
