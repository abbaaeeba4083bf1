"""Profile picture settings: how large a picture may be, and where it is stored (this server's folder or S3)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.setting import check, setting

STORAGE_BACKENDS = ("local", "s3")
MAX_PRESIGN_SECONDS = 604_800  # SigV4 presigned URLs live at most 7 days
# Pillow refuses images over twice this many pixels as decompression bombs; ours must stay below its own guard.
PILLOW_BOMB_PIXELS = 89_478_485


@dataclass(frozen=True)
class PictureSettings:
    """Pictures are decoded and re-encoded (PNG, JPEG, WebP), metadata stripped, shrunk to fit, and stored in
    `UPLOAD_FOLDER` (served by this server) or S3, Spaces or MinIO."""

    TITLE: ClassVar[str] = "Profile pictures"
    PAGES: ClassVar[tuple[str, ...]] = ("pictures.md",)

    upload_folder: str = setting("uploads", "Folder of the `local` picture store, served at `<APP_URL>uploads/`.")
    picture_max_edge: int = setting(512, "Larger pictures are scaled down to fit this many pixels wide and high "
                                    "(16 to 4096).")
    picture_max_pixels: int = setting(
        16_000_000, "Most pixels (width times height) an uploaded picture may decode to, checked before it is "
        f"decoded (at most {PILLOW_BOMB_PIXELS}). JPEGs decode at reduced scale (1/2 to 1/8 a side, as far as "
        "`PICTURE_MAX_EDGE` allows), so larger photos pass; a WebP may have a quarter of it (its decoder keeps "
        "four copies of the pixels). A decode holds about 4 bytes a pixel (8 with transparency).")
    picture_threads: int = setting(1, "Threads per process that decode uploaded pictures (1 to 32), at a lower CPU "
                                   "priority than logins and apart from them; each holds one picture's pixels "
                                   "while it works.")
    storage_backend: str = setting("local", "Where pictures live: `local` (`UPLOAD_FOLDER`, served by this server) "
                                   "or `s3` (S3, Spaces, MinIO).")
    storage_timeout_seconds: float = setting(5.0, "A picture store slower than this many seconds counts as down "
                                             "(503).")
    s3_bucket: str = setting("", "The bucket (required with `STORAGE_BACKEND: s3`).")
    s3_region: str = setting("us-east-1", "Its region; for Spaces the endpoint's, e.g. `nyc3`.")
    s3_endpoint_url: str = setting("", "Empty for Amazon S3; Spaces: e.g. `https://nyc3.digitaloceanspaces.com`.")
    s3_access_key_id: str = setting("", "Access key, set together with `S3_SECRET_ACCESS_KEY`; empty (both): the "
                                    "default AWS credential chain (environment, instance role).")
    s3_secret_access_key: str = setting("", "The secret of `S3_ACCESS_KEY_ID`.", secret=True)
    s3_public_url: str = setting("", "Public base URL of the bucket or its CDN; empty: presigned GET URLs.")
    s3_url_lifetime: int = setting(3600, f"Seconds a presigned URL is valid (at most {MAX_PRESIGN_SECONDS}, 7 days).")
    s3_object_acl: str = setting("", "ACL of uploaded objects, e.g. `public-read` for a public Spaces URL; empty: "
                                 "the bucket's policy decides.")

    def __post_init__(self) -> None:
        check(16 <= self.picture_max_edge <= 4096, "PICTURE_MAX_EDGE", "must be between 16 and 4096 pixels")
        check(1 <= self.picture_max_pixels <= PILLOW_BOMB_PIXELS, "PICTURE_MAX_PIXELS",
              f"must be between 1 and {PILLOW_BOMB_PIXELS}")
        check(1 <= self.picture_threads <= 32, "PICTURE_THREADS", "must be between 1 and 32")
        check(self.storage_backend in STORAGE_BACKENDS, "STORAGE_BACKEND",
              f"must be one of {', '.join(STORAGE_BACKENDS)}")
        check(self.storage_timeout_seconds > 0, "STORAGE_TIMEOUT_SECONDS", "must be positive")
        check(bool(self.upload_folder.strip()), "UPLOAD_FOLDER", "must not be empty")
        if self.storage_backend == "s3":
            check(bool(self.s3_bucket), "S3_BUCKET", "must be set when STORAGE_BACKEND is s3")
        check(bool(self.s3_access_key_id) == bool(self.s3_secret_access_key), "S3_SECRET_ACCESS_KEY",
              "and S3_ACCESS_KEY_ID must be set together (or both left empty for the default credential chain)")
        for name in ("s3_endpoint_url", "s3_public_url"):
            value = getattr(self, name)
            check(not value or value.startswith(("https://", "http://")), name.upper(),
                  "must be an http:// or https:// URL")
        check(1 <= self.s3_url_lifetime <= MAX_PRESIGN_SECONDS, "S3_URL_LIFETIME",
              f"must be between 1 and {MAX_PRESIGN_SECONDS} seconds")
