"""What an upload may cost the server (issue 12, item 7): decompression bombs refused before they are inflated,
a bounded decode, a quota per user and per network, and threads of their own so that logins never wait.

bench/bench_uploads.py measures the rest against a real `server.py`: RSS and login latency under parallel
maximum-size uploads (figures in bench/README.md).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.api import Api, assert_error, with_settings
from support.mail import RecordingNotifier
from support.pictures import encoded, jpeg, png

from services.config import Config, load_config
from services.infra import redis_client
from services.outcomes import AuthError
from services.pictures import ImageProcessor
from services.wiring import Executors, Services, build_executors, build_services, start_services, stop_services

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = load_config(None, environ={})
PROCESSOR = ImageProcessor(max_edge=DEFAULTS.picture_max_edge, max_pixels=DEFAULTS.picture_max_pixels)


def flat_png(width: int, height: int, mode: str = "RGB") -> bytes:
    """A picture that compresses to almost nothing: the cheapest way to send many pixels."""
    from PIL import Image

    return encoded(Image.new(mode, (width, height)), "PNG")


def refused_code(data: bytes) -> str:
    with pytest.raises(AuthError) as caught:
        PROCESSOR.normalize_sync(data)
    return caught.value.code


# --- decompression bombs and what a picture may cost --------------------------------------------------


def test_the_default_pixel_limit_refuses_the_50_megapixel_png_of_the_report() -> None:
    """A 180 KB PNG of 50 Mpx cost 1.5 s of CPU and 390 MB under the old default of 50,000,000 pixels."""
    assert DEFAULTS.picture_max_pixels <= 16_000_000
    assert refused_code(flat_png(7071, 7071)) == "auth/image-too-large"
    assert PROCESSOR.normalize_sync(flat_png(4000, 4000)).width == 512  # 16 Mpx: a large photo still fits


def test_a_large_jpeg_is_decoded_reduced_and_judged_by_what_is_decoded() -> None:
    """A 48 Mpx phone photo decodes at 1/8 scale (Pillow's draft): 0.75 Mpx, cheap, and accepted."""
    started = time.process_time()
    result = PROCESSOR.normalize_sync(jpeg((8000, 6000)))
    assert (result.width, result.height) == (512, 384)
    assert time.process_time() - started < 1.0


def test_a_webp_may_have_a_quarter_of_the_pixels() -> None:
    """Pillow's WebP decoder holds four copies of the pixels: the same memory budget means a quarter of them."""
    from PIL import Image

    quarter = DEFAULTS.picture_max_pixels // 4
    side = int(quarter**0.5)
    assert PROCESSOR.normalize_sync(encoded(Image.new("RGB", (side, side)), "WEBP")).width == 512
    assert refused_code(encoded(Image.new("RGB", (side * 2, side)), "WEBP")) == "auth/image-too-large"


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
@pytest.mark.parametrize("mode, bytes_per_pixel", [("RGB", 5), ("RGBA", 9)])
def test_a_maximum_size_picture_is_decoded_with_one_full_size_copy_of_its_pixels(
        tmp_path: Path, mode: str, bytes_per_pixel: int) -> None:
    """Peak memory of one decode at the default limit, in a process of its own (VmHWM: ru_maxrss would count
    the forking pytest's): shrinking first, the pipeline keeps one copy of the pixels (4 bytes each; 8 while
    transparency is resampled), not three."""
    side = int(DEFAULTS.picture_max_pixels**0.5)
    picture = tmp_path / "max.png"
    picture.write_bytes(flat_png(side, side, mode))
    script = (
        "import re\n"
        "from services.config import load_config\n"
        "from services.pictures import ImageProcessor\n"
        "def kb(name): return int(re.search(name + r':\\s+(\\d+)', open('/proc/self/status').read())[1])\n"
        "config = load_config(None, environ={})\n"
        "processor = ImageProcessor(config.picture_max_edge, config.picture_max_pixels)\n"
        f"data = open({str(picture)!r}, 'rb').read()\n"
        "before = kb('VmHWM')\n"
        "processor.normalize_sync(data)\n"
        "print(kb('VmHWM') - before)\n"
    )
    measured = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    peak_bytes = int(measured.stdout.strip()) * 1024
    assert peak_bytes <= bytes_per_pixel * side * side, f"{peak_bytes / 2**20:.0f} MB"


# --- the quota ------------------------------------------------------------------------------------------


async def upload(api: Api, token: str, data: bytes | None = None, ip: str | None = None) -> Any:
    headers = {"Content-Type": "image/png", **({"X-Forwarded-For": ip} if ip else {})}
    return await api.request("PUT", "/user/avatar", body=data or png((64, 64)), token=token, headers=headers)


@pytest.mark.gen_test(timeout=30)
@with_settings(rate_limit_picture="3/1h", rate_limit_picture_user="2/1h", trusted_proxies=["127.0.0.1"])
async def test_uploads_are_counted_per_user_and_per_network(api: Api, settings: dict[str, Any]) -> None:
    first = (await api.signed_up_tokens("first@example.com"))["access_token"]
    second = (await api.signed_up_tokens("second@example.com"))["access_token"]
    for _ in range(2):
        assert (await upload(api, first)).status == 200
    limited = await upload(api, first, ip="198.51.100.7")  # another network: the user's own quota is spent
    assert_error(limited, 429, "auth/too-many-requests")
    assert int(limited.headers["Retry-After"]) > 0
    assert (await upload(api, second)).status == 200  # the network's third
    crowded = await upload(api, second)  # the second user still has quota, this network does not
    assert_error(crowded, 429, "auth/too-many-requests")
    assert crowded.headers["RateLimit-Limit"] == "3"
    assert (await upload(api, second, ip="198.51.100.7")).status == 200  # elsewhere, the user may go on


@pytest.mark.gen_test
@with_settings(rate_limit_picture_user="1/1h")
async def test_only_a_signed_in_upload_counts(api: Api, settings: dict[str, Any]) -> None:
    assert_error(await upload(api, "not-a-token"), 401, "auth/token-invalid")
    token = (await api.signed_up_tokens())["access_token"]
    ok = await upload(api, token)
    assert ok.status == 200 and ok.headers["RateLimit-Remaining"] == "0"


# --- threads of their own ---------------------------------------------------------------------------------


@pytest.fixture
def executors(config: Config) -> Iterator[Executors]:
    built = build_executors(config)
    yield built
    built.shutdown()


@pytest.fixture
def services(config: Config, database: Any, io_loop: Any, notifier: RecordingNotifier,
             executors: Executors) -> Iterator[Services]:
    """Built as `serve` builds them: with the process's own thread pools."""
    redis = redis_client(config.redis_url, config.redis_timeout_seconds)
    io_loop.run_sync(redis.flushdb)
    built = build_services(config, database, redis, executors, notifier=notifier)
    io_loop.run_sync(lambda: start_services(built))
    yield built
    io_loop.run_sync(lambda: stop_services(built))


@pytest.mark.gen_test(timeout=30)
async def test_a_login_never_waits_for_the_picture_threads(api: Api, services: Services,
                                                           executors: Executors) -> None:
    """Two uploads took both threads of the one shared pool and stalled a login 3.9 s; now they queue apart."""
    token = (await api.signed_up_tokens())["access_token"]
    assert executors.pictures is not None
    busy, release = threading.Event(), threading.Event()

    def hold_a_picture_thread() -> None:
        busy.set()
        release.wait(20)

    held = [executors.pictures.submit(hold_a_picture_thread) for _ in range(services.config.picture_threads)]
    try:
        assert busy.wait(5)
        pending = asyncio.ensure_future(upload(api, token))
        login = await asyncio.wait_for(api.login(), timeout=10)
        assert login.status == 200, login.body
        assert not pending.done()  # the upload waits for a picture thread; the login did not
    finally:
        release.set()
    assert (await pending).status == 200
    for job in held:
        job.result(5)
