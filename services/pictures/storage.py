"""Where profile pictures live: a local folder served by this server, or an S3-compatible bucket (services/s3.py).

Object keys are `avatars/<32 random URL-safe characters>.<png|jpg|webp>`: made here from `secrets`, never
from anything a client sent, so they cannot be guessed, cannot collide, and cannot name a path outside
the store. A key is never reused: a new picture gets a new key, so its URL can be cached for ever.
Every failure to reach the store is a 503 `auth/unavailable` with Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urljoin

from services.config import Config
from services.outcomes import ServiceUnavailable

log = logging.getLogger("auth.storage")
T = TypeVar("T")

OBJECT_KEY = re.compile(r"avatars/[A-Za-z0-9_-]{32}\.(?:png|jpg|webp)")
CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}
# Keys are never reused, so a picture never changes under its URL.
IMMUTABLE = "public, max-age=31536000, immutable"
LOCAL_URL_PREFIX = "uploads/"


def new_key(extension: str) -> str:
    if extension not in CONTENT_TYPES:
        raise ValueError(f"no pictures of type {extension!r}")
    return f"avatars/{secrets.token_urlsafe(24)}.{extension}"


class ObjectStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def delete(self, key: str) -> None:
        """Idempotent: deleting a key that is not there succeeds."""

    async def url(self, key: str) -> str:
        """Where a client fetches the object."""

    async def close(self) -> None: ...


class LocalStorage:
    """Files under UPLOAD_FOLDER, served by this server at `<APP_URL>uploads/<key>` (the development default)."""

    def __init__(self, folder: Path, app_url: str, executor: Executor | None = None) -> None:
        self.folder = folder.resolve()
        self._base_url = urljoin(app_url, LOCAL_URL_PREFIX)  # APP_URL ends with "/": its path is kept
        self._executor = executor

    def path_of(self, key: str) -> Path:
        """The file of a key; anything that is not one of our keys is refused, so no path can leave the folder."""
        if not OBJECT_KEY.fullmatch(key):
            raise ValueError(f"{key!r} is not a picture key")
        path = (self.folder / key).resolve()
        if not path.is_relative_to(self.folder):
            raise ValueError(f"{key!r} leaves the upload folder")
        return path

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(self._write, self.path_of(key), data)

    async def delete(self, key: str) -> None:
        await self._run(self.path_of(key).unlink, True)

    async def read(self, key: str) -> bytes | None:
        """The stored bytes, or None when there is no such picture (or the key is not one of ours)."""
        try:
            path = self.path_of(key)
        except ValueError:
            return None
        return await self._run(_read_if_present, path)

    async def url(self, key: str) -> str:
        return self._base_url + key

    async def close(self) -> None:
        return None

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        """Write beside the target and rename: a reader never sees half a picture."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, function, *args)
        except OSError as exc:  # a full or read-only disk: the store cannot take it now
            log.warning("upload folder %s unusable: %s", self.folder, exc)
            raise ServiceUnavailable() from exc


def _read_if_present(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def build_storage(config: Config, executor: Executor | None = None) -> ObjectStorage:
    if config.storage_backend == "s3":
        from services.pictures.s3 import S3Storage

        return S3Storage(config)
    return LocalStorage(Path(config.upload_folder), config.app_url, executor)
