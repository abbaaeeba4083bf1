"""services/images.py on its own: what goes in, what comes out, what is refused with which code."""

from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from support.pictures import (
    FORMAT_OF,
    SAMPLES,
    assert_clean_picture,
    bomb_png,
    encoded,
    jpeg,
    photo,
    png,
    truncated_png,
    webp,
)

from services.outcomes import AuthError
from services.pictures import ImageProcessor

PROCESSOR = ImageProcessor(max_edge=512, max_pixels=50_000_000)


def refused(data: bytes, processor: ImageProcessor = PROCESSOR) -> tuple[int, str]:
    with pytest.raises(AuthError) as caught:
        processor.normalize_sync(data)
    return caught.value.status, caught.value.code


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_format_comes_out_in_its_own_format_shrunk_and_without_metadata(kind: str) -> None:
    image_format, content_type = FORMAT_OF[kind]
    result = PROCESSOR.normalize_sync(SAMPLES[kind]((1600, 1200)))
    assert (result.content_type, result.extension) == (content_type, {"jpeg": "jpg"}.get(kind, kind))
    image = assert_clean_picture(result.data, image_format, 512)
    assert image.size == (result.width, result.height) == (512, 384)  # aspect ratio kept


def test_small_pictures_are_not_enlarged() -> None:
    assert PROCESSOR.normalize_sync(png((40, 30))).width == 40


@pytest.mark.parametrize("kind", ["png", "webp"])
def test_transparency_survives(kind: str) -> None:
    result = PROCESSOR.normalize_sync(SAMPLES[kind]((600, 600), mode="RGBA"))  # type: ignore[call-arg]
    image = Image.open(io.BytesIO(result.data))
    assert image.mode == "RGBA" and image.getextrema()[3][0] < 255


def test_palette_transparency_becomes_alpha() -> None:
    palette = photo((64, 64)).convert("P")
    result = PROCESSOR.normalize_sync(encoded(palette, "PNG", transparency=0))
    assert Image.open(io.BytesIO(result.data)).mode == "RGBA"


def test_exif_orientation_is_applied_before_the_exif_is_dropped() -> None:
    # Orientation 6: the camera was turned, the stored pixels are 1600 wide, the photo is 1200 wide.
    result = PROCESSOR.normalize_sync(jpeg((1600, 1200), orientation=6))
    image = assert_clean_picture(result.data, "JPEG", 512)
    assert image.size == (384, 512)


def test_cmyk_and_greyscale_jpegs_come_out_as_rgb() -> None:
    for mode in ("CMYK", "L"):
        result = PROCESSOR.normalize_sync(encoded(photo((800, 600)).convert(mode), "JPEG"))
        assert Image.open(io.BytesIO(result.data)).mode == "RGB"


def test_the_content_decides_not_the_name_or_type() -> None:
    """A WebP called .png is still a WebP: the stored type is what Pillow found."""
    assert PROCESSOR.normalize_sync(webp((100, 100))).content_type == "image/webp"


def test_bytes_after_the_image_are_not_kept() -> None:
    """A polyglot (an image with a script appended) comes out as the image alone."""
    result = PROCESSOR.normalize_sync(png((64, 64)) + b"<script>alert(1)</script>")
    assert b"<script>" not in result.data


@pytest.mark.parametrize(("data", "status", "code"), [
    (b"I am a text file called avatar.png\n", 415, "auth/unsupported-image"),
    (b"", 415, "auth/unsupported-image"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", 415, "auth/unsupported-image"),
    (encoded(photo((20, 20)), "GIF"), 415, "auth/unsupported-image"),
    (encoded(photo((20, 20)), "BMP"), 415, "auth/unsupported-image"),
    (truncated_png(), 400, "auth/invalid-image"),
    (png((64, 64))[:60], 400, "auth/invalid-image"),
], ids=["text", "empty", "svg", "gif", "bmp", "truncated-png", "header-only-png"])
def test_what_is_refused_and_how(data: bytes, status: int, code: str) -> None:
    assert refused(data) == (status, code)


def test_a_decompression_bomb_is_refused_from_its_header_without_being_inflated() -> None:
    bomb = bomb_png(20_000, 20_000)
    assert len(bomb) < 100_000  # kilobytes on the wire, 400 megapixels when decoded
    started = time.monotonic()
    assert refused(bomb) == (400, "auth/image-too-large")
    assert time.monotonic() - started < 0.5


def test_the_pixel_limit_is_the_configured_one() -> None:
    strict = ImageProcessor(max_edge=512, max_pixels=100 * 100)
    assert refused(png((101, 100)), strict) == (400, "auth/image-too-large")
    assert strict.normalize_sync(png((100, 100))).width == 100


@pytest.mark.gen_test
async def test_normalize_runs_off_the_event_loop() -> None:
    result = await PROCESSOR.normalize(png((700, 100)))
    assert (result.width, result.height) == (512, 73)
