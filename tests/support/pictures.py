"""Images for the picture tests, made on the spot: real ones with metadata, fakes, a truncated one and a bomb."""

from __future__ import annotations

import io
import struct
import uuid
import zlib
from typing import Any

from PIL import Image, ImageCms

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def exif_with_secrets(orientation: int | None = None) -> Image.Exif:
    """EXIF a user would not want published: camera make and a GPS position."""
    exif = Image.Exif()
    exif[MAKE] = "SpyCam 3000"
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif


def encoded(image: Image.Image, image_format: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def photo(size: tuple[int, int] = (1600, 1200), mode: str = "RGB") -> Image.Image:
    """Not a flat colour: gradients, so the encoders have real work and the result can be checked."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    if mode in ("RGB", "RGBA"):
        image.paste((200, 40, 40) if mode == "RGB" else (200, 40, 40, 128), (0, 0, size[0] // 2, size[1] // 2))
    return image


def png(size: tuple[int, int] = (1600, 1200), mode: str = "RGB") -> bytes:
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "home address: 1 Secret Lane")
    return encoded(photo(size, mode), "PNG", pnginfo=text, exif=exif_with_secrets())


def jpeg(size: tuple[int, int] = (1600, 1200), orientation: int | None = None) -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return encoded(photo(size), "JPEG", quality=90, exif=exif_with_secrets(orientation), icc_profile=profile)


def webp(size: tuple[int, int] = (1600, 1200), mode: str = "RGB") -> bytes:
    return encoded(photo(size, mode), "WEBP", quality=80, exif=exif_with_secrets())


SAMPLES = {"png": png, "jpeg": jpeg, "webp": webp}
FORMAT_OF = {"png": ("PNG", "image/png"), "jpeg": ("JPEG", "image/jpeg"), "webp": ("WEBP", "image/webp")}


def bomb_png(width: int = 20_000, height: int = 20_000) -> bytes:
    """A valid 1-bit PNG of width x height that compresses to a few kilobytes: 400 megapixels when decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def noisy_png(size: tuple[int, int] = (400, 400)) -> bytes:
    """Noise does not compress: about 3 bytes a pixel on the wire."""
    return encoded(Image.effect_noise(size, 64).convert("RGB"), "PNG")


def truncated_png() -> bytes:
    whole = noisy_png()
    return whole[: len(whole) // 3]


def multipart(data: bytes, field: str = "picture", filename: str = "me.png",
              content_type: str = "image/png") -> tuple[bytes, str]:
    """A multipart/form-data body with one file (and one plain field), and its Content-Type header."""
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def assert_clean_picture(data: bytes, image_format: str, max_edge: int) -> Image.Image:
    """A valid image of `image_format`, within `max_edge`, with no EXIF, colour profile or text left."""
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every byte: a broken file fails here
    assert image.format == image_format
    assert max(image.size) <= max_edge
    assert not dict(image.getexif()), dict(image.getexif())
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert not any(key in image.info for key in ("Comment", "comment", "text", "XML:com.adobe.xmp", "xmp"))
    assert b"SpyCam" not in data and b"Secret Lane" not in data
    return image
