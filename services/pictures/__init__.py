"""Profile pictures: decoded and re-encoded by Pillow, stored in a local folder or an S3-compatible bucket, with a
journal and a sweeper so that no stored object is ever left without a user pointing at it."""

from services.pictures.images import ImageProcessor
from services.pictures.pending import PendingObjects
from services.pictures.service import PictureService
from services.pictures.storage import (
           IMMUTABLE,
           LOCAL_URL_PREFIX,
           OBJECT_KEY,
           LocalStorage,
           ObjectStorage,
           build_storage,
)

__all__ = ["IMMUTABLE", "LOCAL_URL_PREFIX", "OBJECT_KEY", "ImageProcessor", "LocalStorage", "ObjectStorage",
           "PendingObjects", "PictureService", "build_storage"]
