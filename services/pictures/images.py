"""Profile pictures as Pillow sees them: only real images are stored, and only what we re-encoded ourselves.

An upload is decoded (PNG, JPEG or WebP, whatever its name or Content-Type claims), turned upright by its
EXIF orientation, converted to sRGB, shrunk to `PICTURE_MAX_EDGE` and encoded afresh from its raw pixels.
The stored file therefore carries no EXIF (GPS position, camera serial), no text chunks and no colour
profile of the original, and no payload a crafted file could smuggle past a viewer. The pixel count is
checked from the header before anything is decoded: a small file that inflates to gigabytes
(a decompression bomb) is refused without being decompressed. Decoding is CPU work: it runs in an executor.
"""

from __future__ import annotations

import asyncio
import io
import logging
from concurrent.futures import Executor
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from services.outcomes import IMAGE_TOO_LARGE, INVALID_IMAGE, UNSUPPORTED_IMAGE, AuthError

log = logging.getLogger("auth.images")

# Pillow format -> (Content-Type, file extension, encoder options). The output keeps the input's format.
FORMATS: dict[str, tuple[str, str, dict[str, object]]] = {
    "PNG": ("image/png", "png", {"optimize": True}),
    "JPEG": ("image/jpeg", "jpg", {"quality": 85, "optimize": True}),
    "WEBP": ("image/webp", "webp", {"quality": 85, "method": 4}),
}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class EncodedPicture:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


class ImageProcessor:
    def __init__(self, max_edge: int, max_pixels: int, executor: Executor | None = None) -> None:
        self._max_edge = max_edge
        self._max_pixels = max_pixels
        self._executor = executor

    async def normalize(self, data: bytes) -> EncodedPicture:
        """The upload re-encoded, or AuthError: 415 not an image we take, 400 damaged or too many pixels."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self.normalize_sync, data)

    def normalize_sync(self, data: bytes) -> EncodedPicture:
        try:
            image = Image.open(io.BytesIO(data), formats=list(FORMATS))  # reads the header only
        except Image.DecompressionBombError:
            raise AuthError(IMAGE_TOO_LARGE, self._too_large_message()) from None
        except (UnidentifiedImageError, OSError, ValueError):
            # Our signature but no readable header: a damaged picture, not the wrong kind of file.
            raise AuthError(INVALID_IMAGE if _has_our_signature(data) else UNSUPPORTED_IMAGE) from None
        with image:
            if image.width * image.height > self._max_pixels:
                raise AuthError(IMAGE_TOO_LARGE, self._too_large_message())
            image_format = str(image.format)
            try:
                clean = self._redraw(image)
            except Exception as exc:  # any decoder failure on untrusted bytes means "not a usable image"
                log.debug("undecodable %s upload: %r", image_format, exc)
                raise AuthError(INVALID_IMAGE) from None
        content_type, extension, options = FORMATS[image_format]
        output = io.BytesIO()
        clean.save(output, format=image_format, **options)
        return EncodedPicture(output.getvalue(), content_type, extension, clean.width, clean.height)

    def _redraw(self, image: Image.Image) -> Image.Image:
        """Decode, turn upright, convert to sRGB, shrink, and copy the bare pixels into a new image."""
        if image.format == "JPEG":
            image.draft(image.mode, (self._max_edge, self._max_edge))  # decode big JPEGs at 1/2..1/8 scale
        image.load()
        upright = ImageOps.exif_transpose(image)
        mode = "RGBA" if _has_alpha(upright) else "RGB"
        pixels = _to_srgb(upright, mode)
        pixels.thumbnail((self._max_edge, self._max_edge), Image.Resampling.LANCZOS)
        # A new image from the raw pixels: no EXIF, ICC profile, text chunks or other metadata can follow.
        return Image.frombytes(mode, pixels.size, pixels.tobytes())

    def _too_large_message(self) -> str:
        return f"The image may have at most {self._max_pixels} pixels (width times height)."


def _has_our_signature(data: bytes) -> bool:
    return data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _to_srgb(image: Image.Image, mode: str) -> Image.Image:
    """Colours as the embedded profile means them, in sRGB; without a usable profile, sRGB is assumed."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "RGBA", "CMYK", "L") and "transparency" not in image.info:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            output_mode = "RGBA" if image.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(image, source, _SRGB, outputMode=output_mode)
            if converted is not None:
                image = converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            log.debug("ignoring an unusable colour profile")
    if image.mode == "P" and mode == "RGBA":
        image = image.convert("RGBA")  # palette transparency becomes real alpha before the mode change
    return image if image.mode == mode else image.convert(mode)
