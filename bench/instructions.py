"""Instructions per request, counted by callgrind: a before/after figure that other work on the machine cannot move.

    .venv/bin/python bench/instructions.py [TREE ...] [--path /user] [--requests 2000] [--connections 8] [--ceiling]
                                           [--env NAME=VALUE ...] [--repeat 1]

Each TREE (default: this checkout) is a checkout of this repository. For each one it starts `server.py serve`
from that tree under `valgrind --tool=callgrind --instr-atstart=no` (embedded in-memory MongoDB, a redis-server
outside valgrind shared by all trees, RS256, `LOG_LEVEL=WARNING`, quotas lifted), signs up and logs in one user,
sends 300 unmeasured requests (caches warm, code paths compiled into valgrind's translation cache), switches
instrumentation on (`callgrind_control -i on`), sends `--requests` more over `--connections` keep-alive
connections (a small asyncio client outside valgrind), and dumps the counters. It prints the server process's
instructions (Ir, every thread) per measured request. Any answer but 200 stops the run: a broken path cannot
look cheap.

The count is of the server process only: redis-server and the client are not in it. It is repeatable to a few
hundred instructions per request for the same code (wall-clock figures on the shared 2-core machine move by
10-20 %), which is what a before/after decision needs; it does not say how the kernel or the other processes
spend their time (compare.py's lines do).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import bench_user as bu

CALLGRIND_CONTROL = shutil.which("callgrind_control") or "callgrind_control"



async def _client(port: int, request: bytes, count: int, connections: int) -> None:
    """`count` requests over `connections` keep-alive connections; every answer must be a 200."""

    async def one_connection(share: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(share):
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = head.split(b" ", 2)[1]
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                body = await reader.readexactly(int(length.group(1))) if length else b""
                if status != b"200":
                    raise RuntimeError(f"answer {status.decode()}: {body[:200]!r}")
        finally:
            writer.close()

    shares = [count // connections + (1 if index < count % connections else 0) for index in range(connections)]
    await asyncio.gather(*(one_connection(share) for share in shares if share))


def _request(path: str, token: str, refresh: str) -> bytes:
    if path == "/refresh":
        body = json.dumps({"token": refresh}).encode()
        return (f"POST /refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{bu.HEADER}: Bearer {token}\r\n\r\n".encode()


def _control(process: bu.Process, *command: str) -> None:
    """`callgrind_control` (valgrind's own) on the server: zero, instrument, dump."""
    subprocess.run([CALLGRIND_CONTROL, *command, str(process.popen.pid)], check=True, capture_output=True)  # noqa: S603


def _total_instructions(out_file: Path) -> int:
    """The sum of the `summary:`/`totals:` lines of every dump callgrind wrote for the process (one per thread)."""
    total = 0
    for dump in out_file.parent.glob(out_file.name + "*"):
        found = re.search(r"^(?:summary|totals): (\d+)", dump.read_text(errors="replace"), re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


def _valgrind(out_file: Path, command: list[str]) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_file}", *command]


def start_ours(tree: Path, work: Path, redis_url: str, keys: Path, args: argparse.Namespace, stack: ExitStack,
               index: int) -> tuple[bu.Process, int, dict[str, str]]:
    """`server.py serve` of `tree` under callgrind, with a user signed up and logged in; its tokens."""
    data_dir = work / f"data-{index}"
    data_dir.mkdir()
    inherited = {k: v for k, v in os.environ.items() if k not in {*bu.setting_names(), "AUTH_CONFIG"}}
    env = {**inherited, "REDIS_URL": redis_url, "JWT_KEYS": str(keys), "DATA_DIR": str(data_dir),
           "BCRYPT_COST": "4", "LOG_LEVEL": "WARNING", "MONGO_URL": "", "JWT_KEYS_AUTO_GENERATE": "false",
           "RATE_LIMIT_TOKEN": "100000000/1m", "RATE_LIMIT_SIGNUP": "100000000/1m",
           "REDIS_TIMEOUT_SECONDS": "30", "PYTHONHASHSEED": "0",  # valgrind is slow; hashing repeatable
           **dict(pair.split("=", 1) for pair in args.env)}
    port = bu.free_port()
    process = bu.Process(f"server-{index}", _valgrind(work / f"callgrind-{index}.out", [
        sys.executable, "server.py", "serve", "--port", str(port)]), work / f"server-{index}.log", env, cwd=tree)
    stack.enter_context(bu.started(process))
    base = f"http://127.0.0.1:{port}"
    bu.wait_for_http(process, f"{base}/", timeout=600)
    email = f"instructions-{index}@example.com"
    bu.call("POST", f"{base}/signup", {"name": "Bench User", "email": email, "password": bu.PASSWORD})
    return process, port, bu.call("POST", f"{base}/login", {"email": email, "password": bu.PASSWORD})["tokens"]


def start_ceiling(work: Path, public_key: Path, stack: ExitStack) -> tuple[bu.Process, int]:
    """bench/ceiling_server.py (one RS256 verify per request, nothing else) under callgrind."""
    port = bu.free_port()
    process = bu.Process("ceiling", _valgrind(work / "callgrind-ceiling.out", [
        sys.executable, str(bu.ROOT / "bench" / "ceiling_server.py"), "--port", str(port),
        "--public-key", str(public_key)]), work / "ceiling.log", {**os.environ, "PYTHONHASHSEED": "0"})
    stack.enter_context(bu.started(process))
    bu.wait_for_http(process, f"http://127.0.0.1:{port}/user", timeout=600)
    return process, port


def count(name: str, process: bu.Process, port: int, request: bytes, out_file: Path,
          args: argparse.Namespace) -> float:
    """Instructions per request of `process`: warm up, then the lowest of `--repeat` counted runs."""
    asyncio.run(_client(port, request, 300, args.connections))  # warm-up, not counted
    figures = []
    for _ in range(args.repeat):
        for dump in out_file.parent.glob(out_file.name + "*"):
            dump.unlink()
        _control(process, "-z")
        _control(process, "-i", "on")
        asyncio.run(_client(port, request, args.requests, args.connections))
        _control(process, "-d")
        _control(process, "-i", "off")
        time.sleep(0.5)
        figures.append(_total_instructions(out_file) / args.requests)
    print(f"  {name}: " + ", ".join(f"{figure:,.0f}" for figure in figures), file=sys.stderr, flush=True)
    if args.keep_profile:
        print(f"  callgrind dumps: {out_file}*", file=sys.stderr)
    return min(figures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[bu.ROOT])
    parser.add_argument("--path", default="/user", help="/user (GET, the access token) or /refresh (POST)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1, help="measure this often per tree; the lowest counts")
    parser.add_argument("--env", action="append", default=[], help="a setting for the servers, NAME=VALUE")
    parser.add_argument("--ceiling", action="store_true", help="also count bench/ceiling_server.py (GET /user)")
    parser.add_argument("--keep-profile", action="store_true", help="keep the dumps (for callgrind_annotate)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-instructions-"))
    with ExitStack() as stack:
        keys = work / "keys"
        bu.keyfiles.generate(keys, "RS256")
        redis = bu.EmbeddedRedis(work / "redis", port=bu.free_port(), persistent=False)
        redis.start()
        stack.callback(redis.stop)
        tokens: dict[str, str] = {}
        for index, tree in enumerate(args.trees):
            process, port, tokens = start_ours(tree.resolve(), work, redis.url, keys, args, stack, index)
            request = _request(args.path, tokens["access_token"], tokens["refresh_token"])
            per_request = count(str(tree), process, port, request, work / f"callgrind-{index}.out", args)
            process.stop()
            print(f"{tree}: {per_request:,.0f} instructions per {args.path} request "
                  f"({args.requests} requests, {args.connections} connections)", flush=True)
        if args.ceiling:
            process, port = start_ceiling(work, next(keys.glob("*.pub")), stack)
            per_request = count("ceiling", process, port, _request("/user", tokens["access_token"], ""),
                                work / "callgrind-ceiling.out", args)
            print(f"ceiling (bench/ceiling_server.py): {per_request:,.0f} instructions per GET /user request",
                  flush=True)
    if not args.keep_profile:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
