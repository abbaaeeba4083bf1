"""The writes of the ways into an account beyond its password: a phone number, the second factors and passkeys
(services/mfa and services/passkeys keep their secrets), and the end of an anonymous account.

A part of UserStore (services/users/store.py), kept apart so each module does one job: every write here is one
atomic update of the user's document, run through the store's `_written` so no process serves a copy from before
it (services/users/versions.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.infra import IndexBuild, MongoStore, mongo_guarded
from services.outcomes import PHONE_IN_USE, AuthError
from services.users.models import FactorRef, User

T = TypeVar("T")


class WaysInWrites(MongoStore):
    _users: Any
    _indexes: IndexBuild

    async def _written(self, uid: str, write: Callable[[], Awaitable[T]]) -> T:
        raise NotImplementedError  # UserStore's

    # --- phone numbers and anonymous accounts ----------------------------------------------------------------

    @mongo_guarded
    async def set_phone(self, uid: str, phone: str) -> User | None:
        """Give the user a verified number (409 `auth/phone-already-in-use` when another user has it): a way back in,
        so an anonymous account stops being one in the same write."""
        await self._indexes.required()
        try:
            doc = await self._written(uid, lambda: self._users.find_one_and_update(
                {"_id": str(uid)}, {"$set": {"phone": str(phone), "updated_at": int(time.time())},
                                    "$unset": {"is_anonymous": ""}}, return_document=ReturnDocument.AFTER))
        except DuplicateKeyError:
            raise AuthError(PHONE_IN_USE) from None
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def remove_phone(self, uid: str) -> User | None:
        doc = await self._written(uid, lambda: self._users.find_one_and_update(
            {"_id": str(uid)}, {"$unset": {"phone": ""}, "$set": {"updated_at": int(time.time())}},
            return_document=ReturnDocument.AFTER))
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def end_anonymity(self, uid: str) -> bool:
        """The one write that makes an anonymous account a full one, for a way in added outside this store's own
        writes (a linked identity, a passkey). A proven address and a phone do it in their own writes.
        True when the account was anonymous until now."""
        result = await self._written(uid, lambda: self._users.update_one(
            {"_id": str(uid), "is_anonymous": True},
            {"$unset": {"is_anonymous": ""}, "$set": {"updated_at": int(time.time())}}))
        return result.modified_count == 1

    @mongo_guarded
    async def anonymous_before(self, created_before: int, limit: int) -> list[User]:
        """At most `limit` anonymous accounts made before `created_before` (unix seconds), oldest first (`users
        purge-anonymous` deletes them batch by batch)."""
        query = {"is_anonymous": True, "created_at": {"$lt": int(created_before)}}
        return [User.from_document(doc) async for doc in self._users.find(query).sort([("created_at", 1)])
                .limit(int(limit))]

    # --- the active second factors (services/mfa holds their secrets): each write is one atomic update ---------

    @mongo_guarded
    async def add_factor(self, uid: str, factor: FactorRef, max_factors: int) -> User | None:
        """List `factor` as active, once, while the user has fewer than `max_factors`; None when it is not added."""
        doc = await self._written(uid, lambda: self._users.find_one_and_update(
            {"_id": str(uid), "mfa_factors.id": {"$ne": str(factor.id)},
             f"mfa_factors.{max_factors - 1}": {"$exists": False}},
            {"$push": {"mfa_factors": factor.document()}, "$set": {"updated_at": int(time.time())}},
            return_document=ReturnDocument.AFTER))
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def remove_factor(self, uid: str, factor_id: str) -> User | None:
        """The user without factor `factor_id`; None when the user no longer lists it."""
        doc = await self._written(uid, lambda: self._users.find_one_and_update(
            {"_id": str(uid), "mfa_factors.id": str(factor_id)},
            {"$pull": {"mfa_factors": {"id": str(factor_id)}}, "$set": {"updated_at": int(time.time())}},
            return_document=ReturnDocument.AFTER))
        return User.from_document(doc) if doc else None
