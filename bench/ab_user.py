"""Before/after for a change on the GET /user path: two checkouts of the server, one Redis, alternating wrk runs.

    python bench/ab_user.py BEFORE_DIR AFTER_DIR [--rounds 5] [--duration 8] [--connections 50] [--path /user]

Each directory is a checkout of this repository (e.g. `git worktree add /tmp/before HEAD`). Both servers run at
once against the same redis-server and key folder; the runs alternate A B, B A, ... so a change in the machine's
load hits both. Prints every run and the medians: req/s, p50, p99 and server CPU per request, which on a loaded
machine is steadier than req/s.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import bench_user as bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--path", default="/user")
    args = parser.parse_args(argv)
    roots = [args.before.resolve(), args.after.resolve()]
    results: dict[Path, list[bench.Result]] = {root: [] for root in roots}
    with tempfile.TemporaryDirectory(prefix="ab-user-") as folder, ExitStack() as stack:
        work = Path(folder)
        keys = work / "keys"
        bench.keyfiles.generate(keys, "RS256")
        redis = bench.EmbeddedRedis(work / "redis", port=bench.free_port(), persistent=False)
        redis.start()
        stack.callback(redis.stop)
        targets = {}
        for index, root in enumerate(roots):
            bench.ROOT = root  # the server runs from this checkout
            process, url = bench.our_server(f"server{index}", work, redis.url, keys, "WARNING")
            stack.enter_context(bench.started(process))
            bench.wait_for_http(process, f"{url}/")
            access, _ = bench.sign_up_and_log_in(url, f"ab{index}@example.com")
            targets[root] = (f"{url}{args.path}", {bench.HEADER: f"Bearer {access}"}, process.popen.pid)
        for root, (url, headers, pid) in targets.items():
            bench.run_wrk(str(root), url, args, headers, duration=2, pid=pid)  # warm-up
        for round_number in range(args.rounds):
            for root in roots if round_number % 2 == 0 else roots[::-1]:
                url, headers, pid = targets[root]
                result = bench.run_wrk(str(root), url, args, headers, pid=pid)
                results[root].append(result)
                print(f"{root}: {result.requests_per_second:8,.0f} req/s  p50 {result.p50_ms:6.2f} ms  "
                      f"p99 {result.p99_ms:6.2f} ms  CPU {result.cpu_us or 0:5.0f} µs/req  {result.errors}", flush=True)
    for root, runs in results.items():
        print(f"median {root}: {statistics.median(r.requests_per_second for r in runs):,.0f} req/s  "
              f"p50 {statistics.median(r.p50_ms for r in runs):.2f} ms  "
              f"p99 {statistics.median(r.p99_ms for r in runs):.2f} ms  "
              f"CPU {statistics.median(r.cpu_us or 0 for r in runs):.0f} µs/req")
    return 0


if __name__ == "__main__":
    sys.exit(main())
