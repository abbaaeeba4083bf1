"""Second factors and recovery codes in MongoDB: the `mfa_factors` and `mfa_recovery_codes` collections.

`mfa_factors`: `_id` (the factor id), `uid`, `type` (`totp` | `webauthn`), `name`, `created_at`, `last_used_at`;
a TOTP factor adds `secret` (sealed, never plain) and `last_step`; a passkey adds `credential_id` (base64url, unique:
one credential belongs to one user, WebAuthn §7.1 step 26) and `public_key`, `sign_count`, `transports`, `aaguid`,
`multi_device`, `backed_up`. `mfa_recovery_codes`: `_id` (the uid), `salt`, `codes` (hashes of the unused codes).

Every write that decides something is one conditional update, so concurrent requests settle in MongoDB: a time
step is accepted once, a sign counter only moves forward, a recovery code is used once.
"""

from __future__ import annotations

import base64
import time
from typing import Any

from pymongo.errors import DuplicateKeyError

from services.infra import Index, IndexBuild, MongoStore, mongo_guarded, mongo_guarded_bulk
from services.mfa.models import Factor, PasskeyCredential

FACTOR_INDEXES = (Index((("uid", 1),), "uid"),
                  Index((("credential_id", 1),), "credential_id_unique", unique=True, sparse=True))


class FactorStore(MongoStore):
    def __init__(self, database: Any, indexes: IndexBuild, collection: str = "mfa_factors",
                 codes_collection: str = "mfa_recovery_codes") -> None:
        super().__init__(database)
        self._factors = database[collection]
        self._codes = database[codes_collection]
        self._indexes = indexes
        indexes.declare(self._factors, *FACTOR_INDEXES)

    @mongo_guarded
    async def insert(self, factor: Factor) -> bool:
        """Store a new factor; False when one with its id exists (a retried confirmation) or its credential is
        another factor's."""
        await self._indexes.required()
        try:
            await self._factors.insert_one(_document(factor))
        except DuplicateKeyError:
            return False
        return True

    @mongo_guarded
    async def get(self, uid: str, factor_id: str) -> Factor | None:
        doc = await self._factors.find_one({"_id": str(factor_id), "uid": str(uid)})
        return _factor(doc) if doc else None

    @mongo_guarded
    async def list(self, uid: str) -> list[Factor]:
        docs = await self._factors.find({"uid": str(uid)}).to_list(length=200)
        return sorted((_factor(doc) for doc in docs), key=lambda factor: (factor.created_at, factor.id))

    @mongo_guarded
    async def find_credential(self, credential_id: bytes) -> Factor | None:
        doc = await self._factors.find_one({"credential_id": _b64(credential_id)})
        return _factor(doc) if doc else None

    @mongo_guarded
    async def accept_step(self, factor_id: str, step: int, resealed: str | None = None) -> bool:
        """Record TOTP time step `step` as used, if no step as late has been accepted (RFC 6238 §5.2: one use)."""
        changes: dict[str, Any] = {"last_step": int(step), "last_used_at": int(time.time())}
        if resealed:
            changes["secret"] = resealed
        result = await self._factors.update_one({"_id": str(factor_id), "last_step": {"$lt": int(step)}},
                                                {"$set": changes})
        return result.modified_count == 1

    @mongo_guarded
    async def advance_counter(self, factor_id: str, seen: int, new: int) -> bool:
        """Move a passkey's sign counter from `seen` to `new`, unless another sign-in moved it meanwhile."""
        result = await self._factors.update_one(
            {"_id": str(factor_id), "sign_count": int(seen)},
            {"$set": {"sign_count": int(new), "last_used_at": int(time.time())}})
        return result.modified_count == 1

    @mongo_guarded
    async def reseal(self, factor_id: str, old: str, new: str) -> bool:
        result = await self._factors.update_one({"_id": str(factor_id), "secret": str(old)}, {"$set": {"secret": new}})
        return result.modified_count == 1

    @mongo_guarded_bulk
    async def sealed_secrets(self) -> list[tuple[str, str, str]]:
        """(factor id, uid, sealed secret) of every TOTP factor, for re-sealing under a new key."""
        docs = await self._factors.find({"type": "totp"}, {"uid": 1, "secret": 1}).to_list(length=None)
        return [(doc["_id"], doc["uid"], doc["secret"]) for doc in docs]

    @mongo_guarded
    async def delete(self, uid: str, factor_id: str) -> None:
        await self._factors.delete_one({"_id": str(factor_id), "uid": str(uid)})

    @mongo_guarded
    async def delete_all(self, uid: str) -> None:
        await self._factors.delete_many({"uid": str(uid)})
        await self._codes.delete_one({"_id": str(uid)})

    # --- recovery codes ---------------------------------------------------------------------------------------

    @mongo_guarded
    async def replace_codes(self, uid: str, salt: str, hashes: list[str]) -> None:
        await self._codes.update_one({"_id": str(uid)}, {"$set": {"salt": salt, "codes": hashes,
                                                                  "created_at": int(time.time())}}, upsert=True)

    @mongo_guarded
    async def code_salt(self, uid: str) -> tuple[str, int] | None:
        """The salt of the user's codes and how many are left; None when the user has none."""
        doc = await self._codes.find_one({"_id": str(uid)})
        return (doc["salt"], len(doc["codes"])) if doc else None

    @mongo_guarded
    async def use_code(self, uid: str, hashed: str) -> bool:
        """Take one code out of the set: True only for the one request that removed it."""
        result = await self._codes.update_one({"_id": str(uid), "codes": str(hashed)},
                                              {"$pull": {"codes": str(hashed)}})
        return result.modified_count == 1


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _document(factor: Factor) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": factor.id, "uid": factor.uid, "type": factor.type, "name": factor.name,
                           "created_at": factor.created_at, "last_used_at": factor.last_used_at}
    if factor.type == "totp":
        doc.update(secret=factor.secret, last_step=factor.last_step)
    elif factor.credential is not None:
        credential = factor.credential
        doc.update(credential_id=_b64(credential.credential_id), public_key=_b64(credential.public_key),
                   sign_count=credential.sign_count, transports=list(credential.transports),
                   aaguid=credential.aaguid, multi_device=credential.multi_device, backed_up=credential.backed_up)
    return doc


def _factor(doc: dict[str, Any]) -> Factor:
    credential = None
    if doc["type"] == "webauthn":
        credential = PasskeyCredential(
            credential_id=_unb64(doc["credential_id"]), public_key=_unb64(doc["public_key"]),
            sign_count=doc.get("sign_count", 0), transports=tuple(doc.get("transports") or ()),
            aaguid=doc.get("aaguid", ""), multi_device=doc.get("multi_device", False),
            backed_up=doc.get("backed_up", False))
    return Factor(id=doc["_id"], uid=doc["uid"], type=doc["type"], name=doc["name"], created_at=doc["created_at"],
                  last_used_at=doc.get("last_used_at"), secret=doc.get("secret", ""),
                  last_step=doc.get("last_step", -1), credential=credential)
