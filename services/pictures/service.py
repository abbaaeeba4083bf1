"""Profile pictures: replace, remove, hand out URLs, and sweep objects nobody references.

The order of every change keeps one rule: no stored object without a user pointing at it for long, and no user
pointing at an object that is gone. An upload goes to the store first and the user record is changed after. The
new key and the one it replaces are journalled (services/pictures/pending.py) before the upload, so a failure in
between, a crash, or a record change whose outcome is unknown (MongoDB answered 503 after the write) leaves
nothing behind for good: the sweeper deletes whichever journalled object no user points at.
"""

from __future__ import annotations

import logging

from services.context import Caller, Client
from services.infra import PeriodicTask
from services.operations import AuditLog
from services.outcomes import NOT_FOUND, TOKEN_REVOKED, AuthError, ServiceUnavailable
from services.pictures.images import ImageProcessor
from services.pictures.pending import PendingObjects
from services.pictures.storage import CONTENT_TYPES, LocalStorage, ObjectStorage, new_key
from services.users import User, UserStore

log = logging.getLogger("auth.pictures")
# Far longer than any upload takes: a journalled key this old belongs to a request that has ended.
SWEEP_GRACE_SECONDS = 3600
SWEEP_INTERVAL_SECONDS = 600


class PictureService:
    def __init__(self, *, users: UserStore, storage: ObjectStorage, images: ImageProcessor, pending: PendingObjects,
                 audit: AuditLog) -> None:
        self._users = users
        self._storage = storage
        self._images = images
        self._pending = pending
        self._audit = audit
        self._sweeper = PeriodicTask("picture sweep", self._sweep_when_reachable)

    async def url(self, user: User) -> str | None:
        return await self.url_of(user.picture)

    async def url_of(self, key: str | None) -> str | None:
        return await self._storage.url(key) if key else None

    async def replace(self, caller: Caller, data: bytes, client: Client) -> str:
        """Store `data` (after re-encoding) as the user's picture; returns its URL. The old one is deleted."""
        picture = await self._images.normalize(data)  # 400/415 here: nothing stored, nothing changed
        uid, old = caller.user.uid, caller.user.picture
        key = new_key(picture.extension)
        await self._pending.add(key, *([old] if old else []))
        # A PUT that fails is not retried with a DELETE against the same dead store: its key stays
        # journalled, so if it landed after all, the sweeper deletes it.
        await self._storage.put(key, picture.data, picture.content_type)
        # A 503 here may come after the record was changed (a missed write concern, a reply lost on the way):
        # the new object must not be deleted under it. Both keys stay journalled, and the sweeper deletes
        # whichever of them no user points at; the user's retry replaces the picture as usual.
        found, previous = await self._users.swap_picture(uid, key)
        if not found:  # the account was deleted while the picture was uploading
            await self.discard(key)
            raise AuthError(TOKEN_REVOKED)
        if previous:
            await self.discard(previous)
        await self._settle(key)
        self._audit.record("picture.changed", uid=uid, sid=caller.claims.session_id, ip=client.ip)
        return await self._storage.url(key)

    async def remove(self, caller: Caller, client: Client) -> None:
        """The object goes first (503 while the store is down, with nothing changed), then the reference."""
        uid, old = caller.user.uid, caller.user.picture
        if old:
            await self.remove_object(old)
        found, previous = await self._users.swap_picture(uid, None)
        if not found:
            raise AuthError(TOKEN_REVOKED)
        if previous and previous != old:  # an upload that raced this removal
            await self.discard(previous)
        self._audit.record("picture.removed", uid=uid, sid=caller.claims.session_id, ip=client.ip)

    async def remove_object(self, key: str) -> None:
        """Delete now or fail with 503: for removals the user must be able to trust at once."""
        await self._pending.add(key)
        await self._storage.delete(key)
        await self._settle(key)

    async def discard(self, key: str) -> None:
        """Delete an object no user points at any more; when the store is down, leave it to the sweeper."""
        try:
            await self._storage.delete(key)
            await self._pending.clear(key)
        except ServiceUnavailable:
            try:
                await self._pending.add(key)
                log.warning("picture %s could not be deleted now; the sweeper will retry", key)
            except ServiceUnavailable:
                log.error("picture %s is stored but unreferenced and could not be journalled: delete it by hand",
                          key)

    async def local_file(self, key: str) -> tuple[bytes, str]:
        """A picture of the local store, for the server to serve; 404 for anything else."""
        data = await self._storage.read(key) if isinstance(self._storage, LocalStorage) else None
        if data is None:
            raise AuthError(NOT_FOUND)
        return data, CONTENT_TYPES[key.rsplit(".", 1)[1]]

    async def sweep(self) -> int:
        """Delete journalled objects that no user references; returns how many were deleted."""
        deleted = 0
        for key in await self._pending.due(SWEEP_GRACE_SECONDS):
            if not await self._users.references_picture(key):
                await self._storage.delete(key)
                deleted += 1
            await self._pending.clear(key)
        if deleted:
            log.info("picture sweep deleted %d unreferenced object(s)", deleted)
        return deleted

    async def _sweep_when_reachable(self) -> None:
        try:
            await self.sweep()
        except ServiceUnavailable:
            log.warning("picture sweep postponed: the database or the picture store is unreachable")

    def start_sweeping(self, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        self._sweeper.start(interval)

    async def stop_sweeping(self) -> None:
        await self._sweeper.stop()

    async def _settle(self, key: str) -> None:
        """Clear a journal entry whose object is accounted for; if that fails, the sweeper clears it later."""
        try:
            await self._pending.clear(key)
        except ServiceUnavailable:
            log.info("journal entry for picture %s left for the sweeper", key)
