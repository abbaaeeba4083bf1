"""Profile pictures as Pillow sees them: only real images are stored, and only what we re-encoded ourselves.

An upload is decoded (PNG, JPEG or WebP, whatever its name or Content-Type claims), shrunk to
`PICTURE_MAX_EDGE`, turned upright by its EXIF orientation, converted to sRGB and encoded afresh from its raw
pixels. The stored file therefore carries no EXIF (GPS position, camera serial), no text chunks and no colour
profile of the original, and no payload a crafted file could smuggle past a viewer.

What a picture costs is bounded before it is paid. The pixel count that will be decoded is checked from the
header, before anything is decompressed: a small file that inflates to gigabytes (a decompression bomb) is
refused unread. A JPEG is decoded at reduced scale (libjpeg's DCT scaling, Pillow's `draft`: 1/2 to 1/8 per
side, as much as still covers `PICTURE_MAX_EDGE`), so a 48-megapixel phone photo decodes to under a megapixel
and is checked at that size. Everything after the decode works on the shrunk image: one full-size copy of the
pixels is held at a time (4 bytes a pixel; WebP 8, its decoder's buffer and ours), never three. Measured
(bench/README.md): a 50-megapixel PNG cost 1.5 s of CPU and 390 MB before; at the default limit of 16
megapixels, a maximum-size PNG costs about 0.3 s and 70 MB. Decoding is CPU work: it runs in the pictures'
own executor (services/wiring/executors.py), never in the one that hashes passwords.
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
# How many full-size copies of the pixels a format's decoder holds at once, where it is more than one: Pillow's
# WebP decoder keeps libwebp's canvas and its previous frame, hands the pixels over as bytes and copies them
# (measured: 15.5 bytes a pixel, against 4.5 for a PNG). Its pictures get a budget that costs the same.
_DECODE_COPIES = {"WEBP": 4}
# Modes Pillow resamples as they are (and whose colour profile, if any, still applies after resampling).
_RESIZABLE = frozenset({"L", "LA", "RGB", "RGBA", "CMYK"})


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
            raise AuthError(IMAGE_TOO_LARGE, self._too_large_message("", self._max_pixels)) from None
        except (UnidentifiedImageError, OSError, ValueError):
            # Our signature but no readable header: a damaged picture, not the wrong kind of file.
            raise AuthError(INVALID_IMAGE if _has_our_signature(data) else UNSUPPORTED_IMAGE) from None
        with image:
            image_format = str(image.format)
            if image_format == "JPEG":  # decode at the smallest scale that still covers the target size
                image.draft(image.mode, (self._max_edge, self._max_edge))
            most = self._max_pixels // _DECODE_COPIES.get(image_format, 1)
            if image.width * image.height > most:  # the size that will be decoded
                raise AuthError(IMAGE_TOO_LARGE, self._too_large_message(image_format, most))
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
        """Decode, shrink, turn upright, convert to sRGB, and copy the bare pixels into a new image.

        Shrinking comes first, so that every later copy (EXIF rotation, colour conversion) is of the small
        image; the decoded full-size pixels are dropped as soon as the shrunk ones exist."""
        image.load()
        if image.mode not in _RESIZABLE:  # palettes and odd depths: to the mode they will end in, first
            image = image.convert("RGBA" if _has_alpha(image) else "RGB")
        image.thumbnail((self._max_edge, self._max_edge), Image.Resampling.LANCZOS)  # in place
        upright = ImageOps.exif_transpose(image)
        mode = "RGBA" if _has_alpha(upright) else "RGB"
        pixels = _to_srgb(upright, mode)
        # A new image from the raw pixels: no EXIF, ICC profile, text chunks or other metadata can follow.
        return Image.frombytes(mode, pixels.size, pixels.tobytes())

    @staticmethod
    def _too_large_message(image_format: str, most: int) -> str:
        kind = "A WebP image" if image_format == "WEBP" else "The image"
        return f"{kind} may have at most {most} pixels (width times height)."


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
