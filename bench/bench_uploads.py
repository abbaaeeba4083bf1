"""What parallel maximum-size picture uploads cost a real server: its memory, and the latency of logins meanwhile.

    python bench/bench_uploads.py [--tree DIR] [--pixels N] [--mode RGBA] [--uploads 4] [--duration 30]

Starts a real redis-server (TCP, not persistent) and `server.py serve` from `--tree` (default: this checkout;
another checkout measures the code before a change), embedded in-memory MongoDB, the default BCRYPT_COST, the
quotas lifted so that they do not answer the load. Then, in two phases of `--duration` seconds each:

1. idle: one client logs in back to back; the login latencies (p50, p99) and the server's RSS are recorded;
2. loaded: the same, while `--uploads` clients each PUT a maximum-size picture (a PNG of `--pixels` pixels,
   compressible, so that it fits in MAX_CONTENT_LENGTH: the cheapest way to make the server decode the most)
   back to back. RSS (the server process's VmRSS) is sampled every 20 ms; its peak over the idle level is
   what the uploads cost in memory.

Prints both phases, their ratios, the answers the uploads got, and the machine's load average before and after
(the figures mean little on a machine busy with something else: say so when reporting them). Stops every
process it started, also on Ctrl-C. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_user import PASSWORD, Process, free_port, started, wait_for_http  # noqa: E402 (bench/ on the path)
from PIL import Image  # noqa: E402

from services.config import setting_names  # noqa: E402 (needs the repository on the path first)
from services.infra import EmbeddedRedis  # noqa: E402 (needs the repository on the path first)
from services.tokens import keyfiles  # noqa: E402 (needs the repository on the path first)

HEADER = "python-auth"
SAMPLE_SECONDS = 0.02


@dataclass
class Phase:
    name: str
    logins_ms: list[float] = field(default_factory=list)
    uploads_ms: list[float] = field(default_factory=list)
    upload_statuses: Counter[int] = field(default_factory=Counter)
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0

    def percentile(self, values: list[float], share: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")

    def line(self) -> str:
        logins = self.logins_ms
        text = (f"{self.name:>7}: {len(logins)} logins, p50 {self.percentile(logins, 0.5):.0f} ms, "
                f"p99 {self.percentile(logins, 0.99):.0f} ms, max {max(logins, default=0):.0f} ms; "
                f"RSS {self.rss_start_mb:.0f} MB at start, peak {self.rss_peak_mb:.0f} MB")
        if self.uploads_ms:
            text += (f"; {len(self.uploads_ms)} uploads {dict(self.upload_statuses)}, "
                     f"median {statistics.median(self.uploads_ms):.0f} ms")
        return text


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def request(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
    call = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(call, timeout=120) as response:  # noqa: S310 (our own loopback server)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def sign_up(base: str, email: str) -> str:
    headers = {"Content-Type": "application/json"}
    body = json.dumps({"name": "Bench", "email": email, "password": PASSWORD}).encode()
    status, answer = request("POST", f"{base}/signup", body, headers)
    if status != 200:
        raise RuntimeError(f"sign-up answered {status}: {answer[:200]!r}")
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    status, answer = request("POST", f"{base}/login", body, headers)
    if status != 200:
        raise RuntimeError(f"login answered {status}: {answer[:200]!r}")
    return str(json.loads(answer)["tokens"]["access_token"])


def login_ms(base: str, email: str) -> float:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    started_at = time.perf_counter()
    status, answer = request("POST", f"{base}/login", body, {"Content-Type": "application/json"})
    if status != 200:
        raise RuntimeError(f"login answered {status}: {answer[:200]!r}")
    return (time.perf_counter() - started_at) * 1000


def maximum_picture(pixels: int, mode: str) -> bytes:
    """A PNG of `pixels` pixels with gradients (real work for the decoder) that compresses well."""
    side = int(pixels**0.5)
    image = Image.linear_gradient("L").resize((side, side)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def run_phase(phase: Phase, base: str, pid: int, seconds: float, uploaders: list[str], picture: bytes) -> None:
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            phase.rss_peak_mb = max(phase.rss_peak_mb, rss_mb(pid))
            time.sleep(SAMPLE_SECONDS)

    def upload(token: str) -> None:
        headers = {HEADER: f"Bearer {token}", "Content-Type": "image/png"}
        while not stop.is_set():
            started_at = time.perf_counter()
            status, _ = request("PUT", f"{base}/user/avatar", picture, headers)
            phase.uploads_ms.append((time.perf_counter() - started_at) * 1000)
            phase.upload_statuses[status] += 1

    phase.rss_start_mb = phase.rss_peak_mb = rss_mb(pid)
    threads = [threading.Thread(target=sample, daemon=True)]
    threads += [threading.Thread(target=upload, args=(token,), daemon=True) for token in uploaders]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        phase.logins_ms.append(login_ms(base, "login@example.com"))
    stop.set()
    for thread in threads:
        thread.join(130)


def measure(args: argparse.Namespace, work: Path, stack: ExitStack) -> tuple[Phase, Phase]:
    keys = work / "keys"
    keyfiles.generate(keys, "RS256")
    redis = EmbeddedRedis(work / "redis", port=free_port(), persistent=False)
    redis.start()
    stack.callback(redis.stop)
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k not in {*setting_names(), "AUTH_CONFIG"}}
    env = {**inherited, "REDIS_URL": redis.url, "JWT_KEYS": str(keys), "DATA_DIR": str(work / "data"),
           "LOG_LEVEL": "WARNING", "MONGO_URL": "", "JWT_KEYS_AUTO_GENERATE": "false",
           "UPLOAD_FOLDER": str(work / "uploads"), "PICTURE_MAX_PIXELS": str(args.pixels),
           # One client IP, and the same few users: measure the work, not the quotas.
           "RATE_LIMIT_TOKEN": "100000000/1m", "RATE_LIMIT_SIGNUP": "100000000/1m",
           "RATE_LIMIT_LOGIN_FAILURES": "100000000/1m", "RATE_LIMIT_PICTURE": "100000000/1m",
           "RATE_LIMIT_PICTURE_USER": "100000000/1m"}
    tree = Path(args.tree).resolve()
    # In the tree's own folder: its config.yaml names the settings that its code knows.
    server = Process("server", [sys.executable, "server.py", "serve", "--port", str(port)], work / "server.log",
                     env, cwd=tree)
    stack.enter_context(started(server))
    base = f"http://127.0.0.1:{port}"
    wait_for_http(server, f"{base}/healthz", timeout=60)

    picture = maximum_picture(args.pixels, args.mode)
    print(f"  picture: {args.mode} PNG of {args.pixels} pixels, {len(picture) // 1024} KB", file=sys.stderr)
    sign_up(base, "login@example.com")
    uploaders = [sign_up(base, f"uploader-{n}@example.com") for n in range(args.uploads)]
    # Warm up: Pillow's plugins loaded, the picture path taken once, a few logins.
    small = maximum_picture(10_000, args.mode)
    status, answer = request("PUT", f"{base}/user/avatar", small,
                             {HEADER: f"Bearer {uploaders[0]}", "Content-Type": "image/png"})
    if status != 200:
        raise RuntimeError(f"a small upload answered {status}: {answer[:200]!r}")
    for _ in range(3):
        login_ms(base, "login@example.com")

    idle, loaded = Phase("idle"), Phase("loaded")
    print(f"  idle phase ({args.duration:.0f} s) ...", file=sys.stderr, flush=True)
    run_phase(idle, base, server.popen.pid, args.duration, [], picture)
    print(f"  loaded phase ({args.duration:.0f} s, {args.uploads} parallel uploads) ...", file=sys.stderr, flush=True)
    run_phase(loaded, base, server.popen.pid, args.duration, uploaders, picture)
    return idle, loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=str(ROOT), help="checkout whose server.py is measured (default: this one)")
    parser.add_argument("--pixels", type=int, default=16_000_000, help="pixels of the uploaded picture")
    parser.add_argument("--mode", default="RGBA", choices=["RGB", "RGBA"], help="the picture's mode")
    parser.add_argument("--uploads", type=int, default=4, help="parallel uploading clients")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per phase")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-uploads-") as folder:
        idle, loaded = measure(args, Path(folder), stack)
    load_after = os.getloadavg()

    print(f"tree {args.tree}; {os.cpu_count()} cores; load average before {load_before[0]:.2f} "
          f"{load_before[1]:.2f} {load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f}")
    print(idle.line())
    print(loaded.line())
    p99 = loaded.percentile(loaded.logins_ms, 0.99) / idle.percentile(idle.logins_ms, 0.99)
    p50 = loaded.percentile(loaded.logins_ms, 0.5) / idle.percentile(idle.logins_ms, 0.5)
    print(f"uploads raised RSS by {loaded.rss_peak_mb - idle.rss_peak_mb:.0f} MB over the idle peak "
          f"({loaded.rss_peak_mb - loaded.rss_start_mb:.0f} MB over the start of the phase); "
          f"login p99 x{p99:.2f}, p50 x{p50:.2f}")


if __name__ == "__main__":
    main()
