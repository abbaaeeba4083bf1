"""The pictures domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.infra import IndexBuild
from services.operations import AuditLog
from services.pictures import ImageProcessor, ObjectStorage, PendingObjects, PictureService, build_storage
from services.users import UserStore
from services.wiring.executors import Executors


@dataclass(frozen=True)
class Pictures:
    manager: PictureService
    storage: ObjectStorage
    pending: PendingObjects


def build_pictures(*, config: Config, database: Any, indexes: IndexBuild, users: UserStore, audit: AuditLog,
                   executors: Executors, storage: ObjectStorage | None) -> Pictures:
    # The local folder's reads and writes are short: they stay off the picture threads, which may be decoding.
    storage = storage or build_storage(config=config, executor=executors.cpu)
    pending = PendingObjects(database=database, indexes=indexes)
    images = ImageProcessor(max_edge=config.picture_max_edge, max_pixels=config.picture_max_pixels,
                            executor=executors.pictures)
    return Pictures(manager=PictureService(users=users, storage=storage, images=images, pending=pending, audit=audit),
                    storage=storage, pending=pending)
