"""The signed-in user's profile picture, and the pictures of the local store (STORAGE_BACKEND=local)."""

from __future__ import annotations

from handlers.base import BaseHandler
from services.outcomes import PICTURE_CHANGED, PICTURE_REMOVED
from services.pictures import IMMUTABLE


class AvatarHandler(BaseHandler):
    async def put(self) -> None:
        """The picture as the raw body (any image Content-Type) or as the multipart form field `picture`."""
        caller = await self.caller()
        await self.rate_limit("picture", user=caller)  # per client IP and per user: decoding is costly
        url = await self.services.pictures.manager.replace(caller, self.file_body("picture"), self.client)
        self.write_outcome(PICTURE_CHANGED, picture=url)

    async def delete(self) -> None:
        await self.services.pictures.manager.remove(await self.caller(), self.client)
        self.write_outcome(PICTURE_REMOVED)


class PictureFileHandler(BaseHandler):
    """Only our own keys reach here: the route admits `avatars/<32 URL-safe characters>.<ext>` and nothing else."""

    async def get(self, key: str) -> None:
        data, content_type = await self.services.pictures.manager.local_file(key)
        self.set_header("Content-Type", content_type)
        self.set_header("Cache-Control", IMMUTABLE)
        self.finish(data)
