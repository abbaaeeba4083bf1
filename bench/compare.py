"""Our server next to its peers and its ceiling, every issue-14 target in one run (issue 6 set lower ones) (needs wrk).

    .venv/bin/python bench/compare.py [--duration 10] [--bcrypt-cost 12] [--processes 2] [--skip-peers]

Creates bench/.venv from bench/requirements.txt for the peers on first use (fastapi-users, Flask, gunicorn:
never the server's own requirements), starts every server on 127.0.0.1, runs wrk against each line in turn
and prints one table: each figure, its ratio and its target, met or missed. Stops every process it started,
also on Ctrl-C or an error. See bench/README.md for what each line means and the latest figures.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import bench_user as bu
from peer_servers import Servers, start_servers
from wrk import Load, measure, measure_together, post_script

from services.accounts import PasswordHasher

BENCH = Path(__file__).resolve().parent
PEER_VENV = BENCH / ".venv"
PASSWORD = bu.PASSWORD
T = TypeVar("T")


# --- the report -----------------------------------------------------------------------------------


@dataclass
class Row:
    what: str
    figure: str
    ratio: float | None = None
    target: str = ""
    goal: Callable[[float], bool] | None = None
    errors: str = ""

    @property
    def verdict(self) -> str:
        if self.errors:
            return "INVALID (errors)"
        if self.ratio is None or self.goal is None:
            return ""
        return "met" if self.goal(self.ratio) else "MISSED"


def line(r: bu.Result) -> str:
    cpu = f", {r.cpu_us:,.0f} µs CPU/req" if r.cpu_us is not None else ""
    return f"{r.requests_per_second:,.1f} req/s, p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms{cpu}"


def row(what: str, r: bu.Result, ratio: float | None = None, target: str = "",
        goal: Callable[[float], bool] | None = None) -> Row:
    errors = r.errors or ("no request completed" if not r.requests else "")
    return Row(what, line(r), ratio, target, goal, errors)


def table(rows: list[Row]) -> str:
    width = max(len(r.what) for r in rows)
    fig = max(len(r.figure) for r in rows)
    out = [f"{'line':<{width}}  {'figure':<{fig}}  {'ratio':>7}  {'target':<14}  verdict", "-" * (width + fig + 45)]
    for r in rows:
        ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
        verdict = r.verdict + (f" [{r.errors}]" if r.errors else "")
        out.append(f"{r.what:<{width}}  {r.figure:<{fig}}  {ratio:>7}  {r.target:<14}  {verdict}")
    return "\n".join(out)


# --- the run --------------------------------------------------------------------------------------


def bcrypt_seconds(cost: int, rounds: int = 5) -> float:
    """One bcrypt check as the server does it (with its pre-hash); the fastest of a few, i.e. uncontended."""
    hasher = PasswordHasher(cost)
    stored = hasher._hash_sync(PASSWORD)
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        hasher._verify_sync(PASSWORD, stored)
        times.append(time.perf_counter() - started)
    return min(times)


def bcrypt_throughput(cost: int, threads: int, seconds: float) -> float:
    """What bcrypt alone achieves on all cores right now: the ceiling for logins on this (shared) machine."""
    hasher = PasswordHasher(cost)
    stored = hasher._hash_sync(PASSWORD)
    deadline = time.perf_counter() + seconds

    def checks() -> int:
        done = 0
        while time.perf_counter() < deadline:
            hasher._verify_sync(PASSWORD, stored)
            done += 1
        return done

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(lambda _: checks(), range(threads)))
    return total / (time.perf_counter() - started)


def run(args: argparse.Namespace, work: Path, stack: ExitStack) -> list[Row]:
    s: Servers = start_servers(args, work, stack)
    secs, warm = args.duration, args.warmup
    user = lambda base, token, header=bu.HEADER: Load(f"{base}/user", {header: f"Bearer {token}"})  # noqa: E731
    rows: list[Row] = []

    # 1. GET /user, the whole path, side by side.
    ours = measure("ours GET /user", user(s.ours, s.ours_access), secs, s.pid("ours"), warm)
    ceiling = measure("ceiling GET /user", user(s.ceiling, s.ours_access), secs, s.pid("ceiling"), warm)
    rows.append(row("ours GET /user", ours))
    rows.append(row("ceiling GET /user (RS256 verify only)", ceiling, ours.requests_per_second
                    / ceiling.requests_per_second, "ours ≥ 1.0x", lambda x: x >= 1.0))
    rows.append(Row("  p99 ours / ceiling", f"{ours.p99_ms:.1f} / {ceiling.p99_ms:.1f} ms",
                    ours.p99_ms / ceiling.p99_ms, "≤ 1.0x", lambda x: x <= 1.0))
    if s.fastapi:
        fu = measure("fastapi-users GET /users/me", Load(f"{s.fastapi}/users/me",
                     {"Authorization": f"Bearer {s.fastapi_access}"}), secs, s.pid("fastapi"), warm)
        rows.append(row("fastapi-users GET /users/me", fu, ours.requests_per_second / fu.requests_per_second,
                        "ours ≥ 6x", lambda x: x >= 6))
        fl = measure("Flask GET /user", user(s.flask, s.flask_access), secs, s.pid("flask"), warm)
        rows.append(row("Flask+PyJWT GET /user", fl, ours.requests_per_second / fl.requests_per_second,
                        "ours ≥ 3.5x", lambda x: x >= 3.5))

    # 2. POST /refresh. Ours rotates: the same parent presented again gets the same child back (sessions.py),
    # so one fixed refresh token is a valid steady state: checks, the Lua rotation, two RS256 signatures.
    refresh = measure("ours POST /refresh", Load(f"{s.ours}/refresh", script=post_script(
        work, "refresh", {"token": s.ours_refresh})), secs, s.pid("ours"), warm)
    rows.append(row("ours POST /refresh (replayed parent)", refresh))
    if s.fastapi:
        fl = measure("Flask POST /refresh", Load(f"{s.flask}/refresh", script=post_script(
            work, "flask-refresh", {"token": s.flask_refresh})), secs, s.pid("flask"), warm)
        rows.append(row("Flask POST /refresh (no rotation)", fl, refresh.requests_per_second
                        / fl.requests_per_second, "ours ≥ 1.3x", lambda x: x >= 1.3))

    # 3. Login and signup at the configured bcrypt cost; the ideal is cores / one bcrypt's time.
    bcrypt_s = bcrypt_seconds(args.bcrypt_cost)
    ideal = (os.cpu_count() or 1) / bcrypt_s
    raw = bcrypt_throughput(args.bcrypt_cost, os.cpu_count() or 1, min(secs, 5))
    rows.append(Row(f"bcrypt alone, {os.cpu_count()} threads, no server", f"{raw:.1f} checks/s now "
                    f"(ideal {ideal:.1f}/s = cores / {bcrypt_s * 1000:.0f} ms)", raw / ideal, "(machine)"))
    slow = {"threads": 1, "connections": args.slow_connections, "timeout": 30}
    creds = {"email": "bench@example.com", "password": PASSWORD}
    login = measure("ours POST /login", Load(f"{s.ours}/login", script=post_script(work, "login", creds), **slow),
                    secs, s.pid("ours"))
    rows.append(row(f"ours POST /login (bcrypt {args.bcrypt_cost}: {bcrypt_s * 1000:.0f} ms)", login,
                    login.requests_per_second / ideal, f"≥ 0.9 of {ideal:.1f}/s", lambda x: x >= 0.9))
    signup_body = '{"name":"Bench","email":"%s","password":"' + PASSWORD + '"}'
    signup = measure("ours POST /signup", Load(f"{s.ours}/signup", script=post_script(
        work, "signup", signup_template=signup_body), **slow), secs, s.pid("ours"))
    rows.append(row("ours POST /signup", signup, signup.requests_per_second / ideal, "(of ideal)"))
    if s.fastapi:
        form = f"username=bench%40example.com&password={PASSWORD}"
        fu = measure("fastapi-users login", Load(f"{s.fastapi}/auth/jwt/login", script=post_script(
            work, "fu-login", form=form), **slow), secs, s.pid("fastapi"))
        rows.append(row("fastapi-users POST /auth/jwt/login (form)", fu, login.requests_per_second
                        / fu.requests_per_second, "(no target)"))
        fl = measure("Flask login", Load(f"{s.flask}/login", script=post_script(work, "fl-login", creds), **slow),
                     secs, s.pid("flask"))
        rows.append(row("Flask POST /login", fl, login.requests_per_second / fl.requests_per_second, "(no target)"))
        fu = measure("fastapi-users register", Load(f"{s.fastapi}/auth/register", script=post_script(
            work, "fu-signup", signup_template='{"email":"%s","password":"' + PASSWORD + '"}'), **slow),
            secs, s.pid("fastapi"))
        rows.append(row("fastapi-users POST /auth/register", fu, signup.requests_per_second
                        / fu.requests_per_second, "(no target)"))
        fl = measure("Flask signup", Load(f"{s.flask}/signup", script=post_script(
            work, "fl-signup", signup_template=signup_body), **slow), secs, s.pid("flask"))
        rows.append(row("Flask POST /signup", fl, signup.requests_per_second / fl.requests_per_second, "(no target)"))

    # 4. GET /user p99 while another wrk floods /login, against the same line idle just before.
    idle = measure("ours GET /user idle", user(s.ours, s.ours_access), secs, s.pid("ours"))
    flooded, flood = measure_together([
        ("ours GET /user during login flood", user(s.ours, s.ours_access)),
        ("login flood", Load(f"{s.ours}/login", script=post_script(work, "flood", creds), **slow))], secs)
    rows.append(row("ours GET /user idle", idle))
    rows.append(row("ours GET /user during login flood", flooded, flooded.p99_ms / idle.p99_ms,
                    "p99 ≤ 1.5x idle", lambda x: x <= 1.5))
    rows.append(row("  (the flood: POST /login)", flood))

    # 5. GET /user with 1,000 and with 100,000 users in the store.
    # One connection: the latency of one request, not a queue of 50 (at 100k embedded users a request takes long).
    small = measure("1k users", Load(f"{s.seeded[0]}/user", {bu.HEADER: f"Bearer {s.seeded_access[0]}"},
                         threads=1, connections=1, timeout=30),
                    secs, s.pid("seeded-0"), warm)
    large = measure("100k users", Load(f"{s.seeded[1]}/user", {bu.HEADER: f"Bearer {s.seeded_access[1]}"},
                         threads=1, connections=1, timeout=30),
                    secs, s.pid("seeded-1"), warm)
    rows.append(row(f"ours GET /user, {args.users_small:,} users (wrk -c1)", small))
    rows.append(row(f"ours GET /user, {args.users_large:,} users (wrk -c1)", large, large.p50_ms / small.p50_ms,
                    "p50 ≤ 1.1x", lambda x: x <= 1.1))

    # 6. N servers on one Redis, load split between them, against one server under the same split load.
    n = len(s.multi)
    split = max(1, 50 // n)
    one, one_busy = machine_busy(lambda: measure_together([(f"one server, wrk #{i}", user(*s.single).scaled(split))
                                                           for i in range(n)], secs, [s.pid(s.single_name)]))
    many, many_busy = machine_busy(lambda: measure_together([(f"server {i}", user(*target).scaled(split))
                                                             for i, target in enumerate(s.multi)], secs,
                                                            [s.pid(name) for name in s.multi_names]))
    total_one = sum(r.requests_per_second for r in one)
    total_many = sum(r.requests_per_second for r in many)
    errors = "; ".join(r.errors for r in one + many if r.errors)
    rows.append(Row("ours GET /user, 1 process", f"{total_one:,.0f} req/s ({n} wrk -t1 -c{split}), "
                    f"{one[0].cpu_us or 0:,.0f} µs CPU/req, machine {one_busy:.0%} busy", errors=errors))
    rows.append(Row(f"ours GET /user, {n} {s.scaling_kind}", f"{total_many:,.0f} req/s ({n} wrk -t1 -c{split}), "
                    f"{many[0].cpu_us or 0:,.0f} µs CPU/req, machine {many_busy:.0%} busy",
                    total_many / total_one, f"≥ {0.9 * n:.1f}x", lambda x: x >= 0.9 * n, errors))
    return rows


def machine_busy(run: Callable[[], T]) -> tuple[T, float]:
    """`run()` and the share of all cores' time that was busy meanwhile (/proc/stat): N servers cannot serve N
    times one server's load once the cores they share with wrk and redis-server have no idle time left."""

    def times() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + fields[4]  # idle and iowait
        return sum(fields[:8]), idle  # user .. steal; guest time is counted in user already

    total_before, idle_before = times()
    result = run()
    total_after, idle_after = times()
    elapsed = total_after - total_before
    return result, 1 - (idle_after - idle_before) / elapsed if elapsed else 0.0


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} for the peers (once) ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)  # noqa: S603
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(BENCH / "requirements.txt")],  # noqa: S603
                       check=True, timeout=900)
    return PEER_VENV / "bin"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured line (default 10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load before fast lines")
    parser.add_argument("--bcrypt-cost", type=int, default=12, help="for ours and the peers (default 12, the "
                        "server's own default)")
    parser.add_argument("--slow-connections", type=int, default=8, help="wrk connections on login/signup lines")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="N for the scaling line")
    parser.add_argument("--users-small", type=int, default=1_000)
    parser.add_argument("--users-large", type=int, default=100_000)
    parser.add_argument("--skip-peers", action="store_true", help="no fastapi-users / Flask lines")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    args.peer_bin = None if args.skip_peers else ensure_peer_venv()

    load = os.getloadavg()[0]
    started = time.monotonic()

    def body(work: Path, stack: ExitStack) -> str:
        rows = run(args, work, stack)
        return (f"\n{time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} CPU(s), wrk on the same cores, "
                f"load average before {load:.2f}, {time.monotonic() - started:.0f} s; "
                f"GET lines wrk -t2 -c50 -d{args.duration:g}s\n{table(rows)}")

    return bu.run_bench("bench-compare-", args.keep, body)

if __name__ == "__main__":
    sys.exit(main())
