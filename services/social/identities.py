"""Provider identities linked to users: the MongoDB `identities` collection, beside `users`.

Document: `_id` (random), `provider`, `subject` (the provider's stable user id, never the email, which
people change), `uid`, `email` (as the provider last reported it, for the user's own list) and
`created_at`. Unique indexes make (provider, subject) belong to one user and give a user at most one
identity per provider, even when two sign-ins race.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.infra import Index, IndexBuild, MongoStore, mongo_guarded
from services.outcomes import IDENTITY_IN_USE, AuthError
from services.social.provider import ProviderIdentity

INDEXES = (Index((("provider", 1), ("subject", 1)), "provider_subject_unique", unique=True),
           Index((("uid", 1), ("provider", 1)), "uid_provider_unique", unique=True))


@dataclass(frozen=True)
class LinkedIdentity:
    provider: str
    subject: str
    uid: str
    email: str | None
    created_at: int

    def public(self) -> dict[str, Any]:
        return {"provider": self.provider, "email": self.email, "created_at": self.created_at}


class IdentityStore(MongoStore):
    def __init__(self, database: Any, indexes: IndexBuild, collection: str = "identities") -> None:
        super().__init__(database)
        self._identities = database[collection]
        self._indexes = indexes  # a link waits for the unique indexes that make it one owner's
        indexes.declare(self._identities, *INDEXES)

    @mongo_guarded
    async def find(self, provider: str, subject: str) -> LinkedIdentity | None:
        doc = await self._identities.find_one({"provider": str(provider), "subject": str(subject)})
        return _from(doc) if doc else None

    @mongo_guarded
    async def list(self, uid: str) -> list[LinkedIdentity]:
        docs = await self._identities.find({"uid": str(uid)}).to_list(length=100)
        return sorted((_from(doc) for doc in docs), key=lambda identity: (identity.created_at, identity.provider))

    @mongo_guarded
    async def link(self, uid: str, identity: ProviderIdentity) -> LinkedIdentity:
        """Raises `auth/identity-already-linked` when the identity has an owner or the user has this provider."""
        doc = {"_id": uuid.uuid4().hex, "provider": identity.provider, "subject": identity.subject, "uid": uid,
               "email": identity.email, "created_at": int(time.time())}
        await self._indexes.required()
        try:
            await self._identities.insert_one(doc)
        except DuplicateKeyError:
            raise AuthError(IDENTITY_IN_USE) from None
        return _from(doc)

    @mongo_guarded
    async def unlink_all(self, uid: str) -> int:
        """Every identity of the user (its deletion); how many there were."""
        result = await self._identities.delete_many({"uid": str(uid)})
        return result.deleted_count

    @mongo_guarded
    async def unlink(self, uid: str, provider: str) -> bool:
        result = await self._identities.delete_one({"uid": str(uid), "provider": str(provider)})
        return result.deleted_count == 1


def _from(doc: dict[str, Any]) -> LinkedIdentity:
    return LinkedIdentity(provider=doc["provider"], subject=doc["subject"], uid=doc["uid"], email=doc.get("email"),
                          created_at=doc["created_at"])
