"""Throughput and latency of GET /user next to its ceiling, measured side by side in one run.

    python bench/bench_user.py [--duration 10] [--connections 50] [--threads 2]

Starts a real redis-server (TCP, not persistent), our server (`server.py serve`, embedded in-memory MongoDB,
BCRYPT_COST=4, LOG_LEVEL=WARNING), and the ceiling servers of bench/ceiling_server.py; signs up and logs in a
user, then runs wrk against each line in turn:

- GET /user on our server, the line this benchmark is about;
- GET /user on the ceiling: bare Tornado + one PyJWT RS256 verify with a cached key object, no store;
- GET /user on the bare ceiling: Tornado returning JSON, no JWT at all;
- POST /refresh with a JSON body (wrk lua script) and GET / (no auth) on our server;
- GET /user on a second instance of our server with LOG_LEVEL=INFO (access log to a file): what logging costs.

Prints a table and the ratios of our /user to the ceiling, and stops every process it started, also on Ctrl-C.
Needs `wrk` on the PATH (Debian: apt-get install wrk). Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.config import setting_names  # noqa: E402 (needs the repository on the path first)
from services.infra import EmbeddedRedis  # noqa: E402 (needs the repository on the path first)
from services.tokens import keyfiles  # noqa: E402 (needs the repository on the path first)

PASSWORD = "Benchmark-password-123"  # noqa: S105 (a throwaway user on a throwaway server)
HEADER = "python-auth"
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_LATENCY = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)


@dataclass
class Result:
    label: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: str  # non-2xx responses and socket errors as wrk reports them, "" when none
    cpu_us: float | None = None  # CPU time of the server process per request (user + system), in µs


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc), or None where it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- processes ------------------------------------------------------------------------------------


class Process:
    """A child process with its output in a log file; `stop()` is SIGTERM, then SIGKILL."""

    def __init__(self, name: str, args: list[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> None:
        self.name, self.log_path = name, log_path
        self._log = log_path.open("wb")
        self.popen = subprocess.Popen(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,  # noqa: S603
                                      stdout=self._log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()

    def tail(self, lines: int = 20) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@contextmanager
def started(process: Process) -> Iterator[Process]:
    try:
        yield process
    finally:
        process.stop()


def wait_for_http(process: Process, url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited with {process.popen.returncode}:\n{process.tail()}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (our own loopback server)
                return
        except urllib.error.HTTPError:
            return  # it answered: up
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{process.name} did not answer {url} in {timeout:.0f}s:\n{process.tail()}")
        time.sleep(0.1)


def our_server(name: str, work: Path, redis_url: str, keys: Path, log_level: str,
               extra: dict[str, str] | None = None) -> tuple[Process, str]:
    port = free_port()
    data_dir = work / f"data-{name}"
    data_dir.mkdir()
    # Only what we set: a setting (or AUTH_CONFIG) in the caller's environment must not change what is measured.
    inherited = {k: v for k, v in os.environ.items() if k not in {*setting_names(), "AUTH_CONFIG"}}
    env = {**inherited, "REDIS_URL": redis_url, "JWT_KEYS": str(keys), "DATA_DIR": str(data_dir),
           "BCRYPT_COST": "4", "LOG_LEVEL": log_level, "MONGO_URL": "", "JWT_KEYS_AUTO_GENERATE": "false",
           # The per-IP quotas would answer the load generator (one IP) with 429s: measure the work, not the limit.
           "RATE_LIMIT_TOKEN": "100000000/1m", "RATE_LIMIT_SIGNUP": "100000000/1m",
           # Logins of one user, over and over, must not end the session the measured token belongs to.
           "SESSION_MAX_PER_USER": "100000000", **(extra or {})}
    process = Process(name, [sys.executable, "server.py", "serve", "--port", str(port)],
                      work / f"{name}.log", env)
    return process, f"http://127.0.0.1:{port}"


def ceiling_server(name: str, work: Path, mode: str, public_key: Path) -> tuple[Process, str]:
    port = free_port()
    args = [sys.executable, str(ROOT / "bench" / "ceiling_server.py"), "--port", str(port), "--mode", mode,
            "--public-key", str(public_key)]
    return Process(name, args, work / f"{name}.log"), f"http://127.0.0.1:{port}"


# --- the API --------------------------------------------------------------------------------------


def call(method: str, url: str, body: dict[str, object] | None = None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers[HEADER] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own loopback server)
        return json.loads(response.read())


def sign_up_and_log_in(base: str, email: str) -> tuple[str, str]:
    call("POST", f"{base}/signup", {"name": "Bench User", "email": email, "password": PASSWORD})
    tokens = call("POST", f"{base}/login", {"email": email, "password": PASSWORD})["tokens"]
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    call("GET", f"{base}/user", token=access)  # the token works before we measure with it
    return access, refresh


# --- wrk ------------------------------------------------------------------------------------------


def run_wrk(label: str, url: str, args: argparse.Namespace, headers: dict[str, str] | None = None,
            script: Path | None = None, duration: float | None = None, pid: int | None = None) -> Result:
    seconds = args.duration if duration is None else duration
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    cpu_before = cpu_seconds(pid) if pid else None
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=False)  # noqa: S603
    cpu_after = cpu_seconds(pid) if pid else None
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed on {label}: {completed.stderr.strip() or completed.stdout.strip()}")
    result = parse_wrk(label, completed.stdout)
    if cpu_before is not None and cpu_after is not None and result.requests:
        result.cpu_us = (cpu_after - cpu_before) / result.requests * 1e6
    return result


def parse_wrk(label: str, output: str) -> Result:
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    total = re.search(r"^\s*(\d+) requests in", output, re.MULTILINE)
    latencies = {int(p): float(v) * _UNIT_MS[u] for p, v, u in _LATENCY.findall(output)}
    if not rps or not total or 50 not in latencies or 99 not in latencies:
        raise RuntimeError(f"cannot read wrk's output for {label}:\n{output}")
    errors = [m.group(0).strip() for m in re.finditer(r"^\s*(Non-2xx or 3xx responses|Socket errors):.*$",
                                                       output, re.MULTILINE)]
    return Result(label, float(rps.group(1)), latencies[50], latencies[99], int(total.group(1)), "; ".join(errors))


def refresh_script(work: Path, refresh_token: str) -> Path:
    path = work / "refresh.lua"
    body = json.dumps({"token": refresh_token})
    path.write_text('wrk.method = "POST"\n'
                    f"wrk.body = {json.dumps(body)}\n"
                    'wrk.headers["Content-Type"] = "application/json"\n')
    return path


# --- the run --------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, work: Path, stack: ExitStack) -> list[Result]:
    keys = work / "keys"
    kid = keyfiles.generate(keys, "RS256")
    redis = EmbeddedRedis(work / "redis", port=free_port(), persistent=False)
    redis.start()
    stack.callback(redis.stop)

    ours, ours_url = our_server("server", work, redis.url, keys, "WARNING")
    stack.enter_context(started(ours))
    ceiling, ceiling_url = ceiling_server("ceiling", work, "verify", keys / f"{kid}.pub")
    stack.enter_context(started(ceiling))
    bare, bare_url = ceiling_server("bare", work, "bare", keys / f"{kid}.pub")
    stack.enter_context(started(bare))
    # The same server on the standard library's loop: what EVENT_LOOP=uvloop (the default) is worth, in this run.
    on_asyncio, on_asyncio_url = our_server("server-asyncio", work, redis.url, keys, "WARNING",
                                            {"EVENT_LOOP": "asyncio"})
    stack.enter_context(started(on_asyncio))
    servers = [(ours, f"{ours_url}/"), (ceiling, f"{ceiling_url}/user"), (bare, f"{bare_url}/user"),
               (on_asyncio, f"{on_asyncio_url}/")]
    logged = logged_url = None
    if not args.skip_info_log:
        logged, logged_url = our_server("server-info", work, redis.url, keys, "INFO")
        stack.enter_context(started(logged))
        servers.append((logged, f"{logged_url}/"))
    for process, url in servers:
        wait_for_http(process, url)

    access, refresh = sign_up_and_log_in(ours_url, "bench@example.com")
    auth = {HEADER: f"Bearer {access}"}
    asyncio_access, _ = sign_up_and_log_in(on_asyncio_url, "bench-asyncio@example.com")
    lines: list[tuple[str, str, dict[str, str] | None, Path | None, Process]] = [
        ("ours GET /user", f"{ours_url}/user", auth, None, ours),
        ("ours GET /user, EVENT_LOOP=asyncio", f"{on_asyncio_url}/user", {HEADER: f"Bearer {asyncio_access}"}, None,
         on_asyncio),
        ("ceiling GET /user (RS256 verify)", f"{ceiling_url}/user", auth, None, ceiling),
        ("bare Tornado JSON (no JWT)", f"{bare_url}/user", None, None, bare),
        ("ours POST /refresh", f"{ours_url}/refresh", None, refresh_script(work, refresh), ours),
        ("ours GET / (no auth)", f"{ours_url}/", None, None, ours),
    ]
    if logged is not None:
        logged_access, _ = sign_up_and_log_in(logged_url, "bench-info@example.com")
        lines.append(("ours GET /user, LOG_LEVEL=INFO", f"{logged_url}/user",
                      {HEADER: f"Bearer {logged_access}"}, None, logged))

    results = []
    for label, url, headers, script, process in lines:
        if args.warmup > 0:
            run_wrk(label, url, args, headers, script, duration=args.warmup)
        print(f"  measuring {label} ({args.duration}s) ...", file=sys.stderr, flush=True)
        results.append(run_wrk(label, url, args, headers, script, pid=process.popen.pid))
    for process, _ in servers:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} died during the run:\n{process.tail()}")
    return results


def report(results: list[Result], args: argparse.Namespace) -> str:
    by_label = {r.label: r for r in results}
    width = max(len(r.label) for r in results)
    rows = [f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --latency, {os.cpu_count()} CPU(s), "
            f"load generator on the same machine; load average before the run {args.load_before:.2f}",
            f"{'endpoint':<{width}}  {'req/s':>9}  {'p50 ms':>8}  {'p99 ms':>8}  {'requests':>9}  "
            f"{'CPU µs/req':>10}  errors",
            "-" * (width + 62)]
    for r in results:
        cpu = f"{r.cpu_us:>10.0f}" if r.cpu_us is not None else f"{'?':>10}"
        rows.append(f"{r.label:<{width}}  {r.requests_per_second:>9,.0f}  {r.p50_ms:>8.2f}  {r.p99_ms:>8.2f}  "
                    f"{r.requests:>9,}  {cpu}  {r.errors or '-'}")
    ours, ceiling = by_label["ours GET /user"], by_label["ceiling GET /user (RS256 verify)"]
    rows += ["",
             f"ours /user vs ceiling: req/s {ours.requests_per_second / ceiling.requests_per_second:.2f}x, "
             f"p99 {ours.p99_ms / ceiling.p99_ms:.2f}x"
             + (f", server CPU per request {ours.cpu_us / ceiling.cpu_us:.2f}x"
                if ours.cpu_us is not None and ceiling.cpu_us is not None else ""),
             "(CPU µs/req: the server process alone; our server's redis-server and the wrk client are not in it)"]
    plain = by_label["ours GET /user, EVENT_LOOP=asyncio"]
    gain = ours.requests_per_second / plain.requests_per_second - 1
    rows.append(f"uvloop (the default): GET /user {ours.requests_per_second:,.0f} req/s vs "
                f"{plain.requests_per_second:,.0f} on asyncio ({gain:+.1%})"
                + (f", {ours.cpu_us - plain.cpu_us:+.0f} µs of server CPU per request"
                   if ours.cpu_us is not None and plain.cpu_us is not None else ""))
    info = by_label.get("ours GET /user, LOG_LEVEL=INFO")
    if info is not None:
        cost = 1 - info.requests_per_second / ours.requests_per_second
        extra = (f", {info.cpu_us - ours.cpu_us:+.0f} µs of server CPU per request"
                 if info.cpu_us is not None and ours.cpu_us is not None else "")
        rows.append(f"access log at INFO: GET /user {info.requests_per_second:,.0f} req/s vs "
                    f"{ours.requests_per_second:,.0f} at WARNING ({cost:.1%} fewer{extra})")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="GET /user next to its ceiling, side by side (needs wrk).")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured line (default 10)")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of unmeasured load before each line")
    parser.add_argument("--skip-info-log", action="store_true",
                        help="skip the LOG_LEVEL=INFO line (access logging cost)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs)")
    args = parser.parse_args(argv)
    args.load_before = preflight()
    if args.load_before is None:
        return 2
    return run_bench("bench-user-", args.keep, lambda work, stack: report(measure(args, work, stack), args))


def preflight() -> float | None:
    """The load average before a run, with a warning when other work shares the CPUs; None without wrk."""
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return None
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f} before the run: other work shares the CPUs, "
              "the figures will be lower and noisier", file=sys.stderr)
    return load


def run_bench(prefix: str, keep: bool, body: Callable[[Path, ExitStack], str]) -> int:
    """Run `body` in a temporary folder and print what it returns; every process it started through the
    ExitStack is stopped at the end, on an error, on Ctrl-C and on SIGTERM. The exit code for `main`."""

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt  # unwinds through the ExitStack, which stops every process

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started with SIGINT ignored (`cmd &`)
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with ExitStack() as stack:
            print(body(work, stack))
        return 0
    except KeyboardInterrupt:
        print("interrupted: stopped every process", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if keep:
            print(f"logs kept in {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    sys.exit(main())
