"""Where GET /user (or POST /refresh) spends its time: py-spy samples our server under wrk, top entries printed.

    .venv/bin/python bench/sample_profile.py [--path /user] [--duration 10] [--rate 100] [--top 25] [--env NAME=VALUE]

Needs wrk and py-spy (`.venv/bin/pip install py-spy`; it reads another process's memory, so it runs as root or
with ptrace allowed). Starts a redis-server and `server.py serve` as bench_user.py does (embedded MongoDB, RS256,
LOG_LEVEL=WARNING, quotas lifted), signs up and logs in one user, warms up for 2 s, then runs
`wrk -t2 -c50` for `--duration` seconds while `py-spy record --format raw` samples the server. Prints the
req/s wrk saw, the sample count, and the functions with the most samples: self (the frame on top) and inclusive
(anywhere on the stack), each as a share of all samples. `--flame FILE` also writes py-spy's SVG.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import bench_user as bu
from wrk import Load, post_script, wrk_command

# A pool thread waiting for work: py-spy cannot tell that this wait in C is idle, but it uses no CPU.
_IDLE = {"concurrent/futures/thread.py _worker"}
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    """`function (path/to/module.py:LINE)` as `module.py function`: lines vary within one function."""
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    path = found.group("file")
    short = "/".join(Path(path).parts[-2:]) if "site-packages" in path or "lib/python" in path else path
    return f"{short} {found.group('function')}"


def summarize(raw: str, top: int) -> tuple[int, list[tuple[str, float]], list[tuple[str, float]]]:
    """(samples, top self shares, top inclusive shares) of py-spy's collapsed stacks."""
    self_counts: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(frame) for frame in stack.split(";")]
        if frames and frames[0].startswith("process "):
            frames = frames[1:]
        if frames and frames[0].startswith("thread "):
            frames = frames[1:]
        if not frames or frames[-1] in _IDLE:
            continue
        total += count
        self_counts[frames[-1]] += count
        for name in set(frames):
            inclusive[name] += count
    if not total:
        return 0, [], []
    # The frames every sample has (the module, asyncio's loop) say nothing: only what is below them.
    below_loop = [(name, count) for name, count in inclusive.most_common() if count < 0.95 * total]
    return (total, [(name, count / total) for name, count in self_counts.most_common(top)],
            [(name, count / total) for name, count in below_loop[:top]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/user", help="/user (GET) or /refresh (POST, the replayed parent)")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--env", action="append", default=[], help="a setting for the server, NAME=VALUE")
    parser.add_argument("--raw", type=Path, help="also keep py-spy's collapsed stacks here")
    parser.add_argument("--flame", type=Path, help="also write py-spy's flame graph (SVG) here")
    args = parser.parse_args(argv)
    py_spy = Path(sys.executable).parent / "py-spy"
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder, ExitStack() as stack:
        work = Path(folder)
        keys = work / "keys"
        bu.keyfiles.generate(keys, "RS256")
        redis = bu.EmbeddedRedis(work / "redis", port=bu.free_port(), persistent=False)
        redis.start()
        stack.callback(redis.stop)
        process, url = bu.our_server("server", work, redis.url, keys, "WARNING",
                                     dict(pair.split("=", 1) for pair in args.env))
        stack.enter_context(bu.started(process))
        bu.wait_for_http(process, f"{url}/")
        access, refresh = bu.sign_up_and_log_in(url, "profile@example.com")
        if args.path == "/refresh":
            load = Load(f"{url}/refresh", script=post_script(work, "refresh", {"token": refresh}))
        else:
            load = Load(f"{url}{args.path}", {bu.HEADER: f"Bearer {access}"})
        subprocess.run(wrk_command(load, 2), capture_output=True, check=False, timeout=60)  # noqa: S603
        raw_path = work / "profile.txt"
        spy = subprocess.Popen([str(py_spy), "record", "--pid", str(process.popen.pid), "--rate", str(args.rate),  # noqa: S603
                                "--duration", str(args.duration + 1), "--format", "raw", "--output", str(raw_path),
                                ], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        done = subprocess.run(wrk_command(load, args.duration), capture_output=True, text=True,  # noqa: S603
                              check=False, timeout=args.duration + 60)
        _, spy_errors = spy.communicate(timeout=120)
        if not raw_path.exists():
            raise SystemExit(f"py-spy wrote nothing: {spy_errors.decode(errors='replace')}")
        result = bu.parse_wrk("profile", done.stdout)
        if args.flame:
            subprocess.run([str(py_spy), "record", "--pid", str(process.popen.pid), "--rate", str(args.rate),  # noqa: S603
                            "--duration", "3", "--output", str(args.flame)],
                           capture_output=True, check=False, timeout=60)
        samples, by_self, by_inclusive = summarize(raw_path.read_text(), args.top)
        if args.raw:
            args.raw.write_text(raw_path.read_text())
    print(f"{args.path}: {result.requests_per_second:,.0f} req/s while sampled ({result.errors or 'no errors'}), "
          f"{samples} samples at {args.rate}/s")
    print("\nself (top of the stack):")
    for name, share in by_self:
        print(f"  {share:6.1%}  {name}")
    print("\ninclusive (anywhere on the stack):")
    for name, share in by_inclusive:
        print(f"  {share:6.1%}  {name}")
    return 0 if not result.errors else 1


if __name__ == "__main__":
    sys.exit(main())
