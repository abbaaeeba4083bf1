"""Users in MongoDB (PyMongo's asyncio driver, or the in-memory store of the embedded default): one document per user.

Document: `_id` (the uid, a UUID string), `email` (normalized, unique index), `name`, `password_hash`,
`email_verified`, `created_at`/`updated_at` (unix seconds), `token_epoch`, the durable copy of the
revocation counter that Redis serves on the hot path, `picture` (the storage key of the profile picture,
or null), `disabled` and `signup_pending` (a sign-up not finished yet). Every query is built here from
typed values; nothing from a request body reaches a filter as an operator.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from services.infra import Index, IndexBuild, mongo_guarded, mongo_outages
from services.outcomes import EMAIL_IN_USE, AuthError
from services.users.models import User

# Stored fields that never leave the server, not even in the user's own data export.
PRIVATE_FIELDS = frozenset({"password_hash"})
INDEXES = (Index((("email", 1),), "email_unique", unique=True), Index((("picture", 1),), "picture", sparse=True))


class UserStore:
    """The MongoDB collection behind `User`; works the same on MongoDB and on the in-memory store."""

    def __init__(self, database: Any, indexes: IndexBuild, collection: str = "users") -> None:
        self._users = database[collection]
        self._indexes = indexes  # writes wait for the unique email index (services/infra/index_build.py)
        indexes.declare(self._users, *INDEXES)

    @mongo_guarded
    async def create(self, email: str, name: str, password_hash: str, email_verified: bool = False,
                     signup_pending: bool = False) -> User:
        """An empty `password_hash` is an account without a password (made by a social sign-in); `signup_pending`
        marks a sign-up whose last steps are still to come."""
        now = int(time.time())
        doc = {"_id": str(uuid.uuid4()), "email": email, "name": name, "password_hash": password_hash,
               "email_verified": email_verified, "created_at": now, "updated_at": now, "token_epoch": 0,
               "picture": None, "disabled": False, **({"signup_pending": True} if signup_pending else {})}
        await self._indexes.required()
        try:
            await self._users.insert_one(doc)
        except DuplicateKeyError:
            raise AuthError(EMAIL_IN_USE) from None
        return User.from_document(doc)

    @mongo_guarded
    async def find_by_email(self, email: str) -> User | None:
        doc = await self._users.find_one({"email": str(email)})
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def find_by_uid(self, uid: str) -> User | None:
        doc = await self._users.find_one({"_id": str(uid)})
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def update(self, uid: str, changes: dict[str, Any], bump_epoch: bool = False) -> User | None:
        """Apply `changes` in one atomic write; `bump_epoch` also ends every token issued so far."""
        update: dict[str, Any] = {"$set": {**changes, "updated_at": int(time.time())}}
        if bump_epoch:
            update["$inc"] = {"token_epoch": 1}
        await self._indexes.required()
        try:
            doc = await self._users.find_one_and_update({"_id": str(uid)}, update,
                                                        return_document=ReturnDocument.AFTER)
        except DuplicateKeyError:
            raise AuthError(EMAIL_IN_USE) from None
        return User.from_document(doc) if doc else None

    @mongo_guarded
    async def finish_signup(self, uid: str) -> None:
        """The sign-up's last step is done: the `signup_pending` mark goes (a finished account never carries it)."""
        await self._users.update_one({"_id": str(uid)}, {"$unset": {"signup_pending": ""}})

    @mongo_guarded
    async def swap_picture(self, uid: str, key: str | None) -> tuple[bool, str | None]:
        """Point the user at picture `key` (None: no picture); returns (user found, the key it replaced).

        The replaced key comes from the same atomic write, so two uploads racing each other each learn
        exactly which object they made unreferenced, and no object is left without an owner.
        """
        doc = await self._users.find_one_and_update(
            {"_id": str(uid)}, {"$set": {"picture": key, "updated_at": int(time.time())}},
            return_document=ReturnDocument.BEFORE)
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
        doc = await self._users.find_one_and_delete({"_id": str(uid)})
        return User.from_document(doc) if doc else None

    async def all(self) -> AsyncIterator[User]:
        """Every user, oldest first, streamed from a cursor."""
        with mongo_outages():
            async for doc in self._users.find({}).sort([("created_at", 1), ("email", 1)]):
                yield User.from_document(doc)

    @mongo_guarded
    async def count(self) -> int:
        return await self._users.count_documents({})
