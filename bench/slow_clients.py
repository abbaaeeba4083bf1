"""Normal clients' latency while 1,000 slow connections hold the server (issue 12, item 17).

    python bench/slow_clients.py [--slow 1000] [--duration 20] [--connections 8] [--trickle 2]

Starts a redis-server (TCP, not persistent) and our server (`server.py serve`: embedded in-memory MongoDB,
BCRYPT_COST=4, LOG_LEVEL=WARNING, the default HTTP timeouts), as bench/bench_user.py does, signs up and logs
in a user, then measures GET /user (a valid access token, keep-alive) from `--connections` concurrent clients
for `--duration` seconds, after `--warmup` unmeasured seconds: first alone ("idle"), then while `--slow` slow
connections are open all the time. A slow connection sends a request line and then one more header line every
`--trickle` seconds, and never ends its headers (Slowloris); when the server closes it (its
HTTP_HEADER_TIMEOUT_SECONDS), another takes its place at once. The slow connections come from a process of
their own, so the measuring client's event loop is not theirs.

Prints p50 and p99 of both runs, the ratio of the p99s (target: at most 2), how many slow connections the
server closed and the load average before and after (the machine may be shared). Everything listens on
127.0.0.1; every process started is stopped at the end, on an error, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import bench_user as bu

from services.infra import EmbeddedRedis
from services.tokens import keyfiles

REQUEST = "GET /user HTTP/1.1\r\nHost: localhost\r\npython-auth: Bearer {token}\r\n\r\n"


# --- the slow side: its own process --------------------------------------------------------------------------


async def slow_connections(port: int, count: int, trickle: float, seconds: float) -> dict[str, int]:
    """Keep `count` connections open that never finish their headers, replacing each one the server closes."""
    closed = opened = 0
    stop_at = time.monotonic() + seconds

    async def one() -> None:
        nonlocal closed, opened
        while time.monotonic() < stop_at:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            opened += 1
            try:
                writer.write(b"GET /user HTTP/1.1\r\nHost: localhost\r\n")
                while time.monotonic() < stop_at:
                    await writer.drain()
                    try:
                        if await asyncio.wait_for(reader.read(1), trickle) == b"":
                            closed += 1  # the server hung up: its header timeout
                            break
                    except TimeoutError:
                        writer.write(b"X-Slow: 1\r\n")
            except OSError:
                closed += 1
            finally:
                writer.close()

    await asyncio.gather(*(one() for _ in range(count)))
    return {"opened": opened, "closed_by_server": closed}


# --- the measuring side ------------------------------------------------------------------------------------


async def normal_clients(port: int, token: str, connections: int, seconds: float) -> tuple[list[float], int]:
    """GET /user on `connections` keep-alive connections for `seconds`: every latency (ms), and the failures."""
    latencies: list[float] = []
    failures = 0
    request = REQUEST.format(token=token).encode()
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            if not head.startswith(b"HTTP/1.1 200"):
                failures += 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    return latencies, failures


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=1000)[round(share * 1000) - 1]


def run(args: argparse.Namespace, work: Path, stack: ExitStack) -> str:
    redis = EmbeddedRedis(work / "redis", port=bu.free_port(), persistent=False)
    redis.start()
    stack.callback(redis.stop)
    keys = work / "keys"
    keyfiles.generate(keys, "RS256")
    server, base = bu.our_server("ours", work, redis.url, keys, "WARNING")
    stack.enter_context(bu.started(server))
    bu.wait_for_http(server, f"{base}/")
    token, _ = bu.sign_up_and_log_in(base, "slow-bench@example.com")
    port = int(base.rsplit(":", 1)[1])

    asyncio.run(normal_clients(port, token, args.connections, args.warmup))
    load_before = os.getloadavg()
    print(f"  idle: {args.connections} clients for {args.duration:g} s ...", file=sys.stderr, flush=True)
    idle, idle_failures = asyncio.run(normal_clients(port, token, args.connections, args.duration))

    print(f"  {args.slow} slow connections, then the same clients ...", file=sys.stderr, flush=True)
    ramp = 5.0
    slow = subprocess.Popen([sys.executable, __file__, "--slow-side", str(port), "--slow", str(args.slow),  # noqa: S603
                             "--trickle", str(args.trickle), "--duration", str(args.duration + ramp + 5)],
                            stdout=subprocess.PIPE, text=True)
    stack.callback(lambda: slow.poll() is None and slow.kill())
    time.sleep(ramp)  # every slow connection open before the clock starts
    loaded, loaded_failures = asyncio.run(normal_clients(port, token, args.connections, args.duration))
    slow_side = json.loads(slow.communicate(timeout=args.duration + 60)[0])
    load_after = os.getloadavg()

    rows = [("idle", idle, idle_failures), (f"{args.slow} slow connections", loaded, loaded_failures)]
    lines = [f"GET /user, {args.connections} keep-alive clients, {args.duration:g} s each "
             f"(load average before {load_before[0]:.2f}, after {load_after[0]:.2f}, {os.cpu_count()} CPUs)",
             "| run | requests | failures | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {len(values)} | {failures} | {percentile(values, 0.5):.2f} | "
              f"{percentile(values, 0.99):.2f} |" for name, values, failures in rows]
    ratio = percentile(loaded, 0.99) / percentile(idle, 0.99)
    lines += ["", f"p99 under slow connections / p99 idle: {ratio:.2f} (target <= 2)",
              f"slow connections opened: {slow_side['opened']}, closed by the server's header timeout: "
              f"{slow_side['closed_by_server']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Normal clients' latency while slow connections hold the server.")
    parser.add_argument("--slow", type=int, default=1000, help="slow connections kept open (default 1000)")
    parser.add_argument("--duration", type=float, default=20, help="seconds per measured run (default 20)")
    parser.add_argument("--connections", type=int, default=8, help="measuring keep-alive clients (default 8)")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds before the idle run")
    parser.add_argument("--trickle", type=float, default=2, help="seconds between a slow client's header lines")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server log)")
    parser.add_argument("--slow-side", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # the slow side needs a descriptor per connection
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, args.slow + 256)), hard))
    if args.slow_side:
        print(json.dumps(asyncio.run(slow_connections(args.slow_side, args.slow, args.trickle, args.duration))))
        return 0
    return bu.run_bench("bench-slow-", args.keep, lambda work, stack: run(args, work, stack))


if __name__ == "__main__":
    sys.exit(main())
