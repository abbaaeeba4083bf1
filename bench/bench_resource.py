"""Resource servers (issue 18): one endpoint of a resource app under three checks, and introspection next to
GET /user, side by side in one run (needs wrk).

    .venv/bin/python bench/bench_resource.py [--duration 10] [--rounds 1] [--connections 50] [--keep]

Starts a redis-server (TCP, not persistent), our server (`server.py serve`, embedded in-memory MongoDB,
BCRYPT_COST=4, LOG_LEVEL=WARNING, an INTROSPECTION_KEYS key) and three resource apps (bench/resource_app.py:
Tornado, one process each, jwt_auth_client in one mode each), signs up and logs in one user, then runs wrk
against each line in turn, `--rounds` times in alternation (the median of each line is reported):

- resource GET /resource, JWT only: signature and claims, the token remembered after its first check;
- resource GET /resource, redis mode: the same plus one MGET of the user's epoch, session and the published keys;
- resource GET /resource, introspection mode: the same plus POST /oauth/introspect on every request;
- ours GET /user, and ours POST /oauth/introspect (a wrk Lua script posting the token form with the key).

Targets: redis mode >= 0.8x JWT only; POST /oauth/introspect >= 0.8x GET /user. Stops every process it started,
also on Ctrl-C or an error. See bench/README.md for the figures and how they were taken.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path

import bench_user as bu
from wrk import Load, measure, post_script

from services.infra import EmbeddedRedis
from services.tokens import keyfiles

BENCH = Path(__file__).resolve().parent
MODES = ("jwt", "redis", "introspection")


def resource_app(mode: str, work: Path, auth_url: str, redis_url: str, key: str) -> tuple[bu.Process, str]:
    port = bu.free_port()
    args = [sys.executable, str(BENCH / "resource_app.py"), "--port", str(port), "--mode", mode,
            "--auth-url", auth_url, "--redis-url", redis_url, "--introspection-key", key]
    return bu.Process(f"resource-{mode}", args, work / f"resource-{mode}.log"), f"http://127.0.0.1:{port}"


def measure_lines(args: argparse.Namespace, work: Path, stack: ExitStack) -> list[list[bu.Result]]:
    keys = work / "keys"
    keyfiles.generate(keys, "RS256")
    redis = EmbeddedRedis(work / "redis", port=bu.free_port(), persistent=False)
    redis.start()
    stack.callback(redis.stop)
    key = secrets.token_urlsafe(32)
    ours, ours_url = bu.our_server("server", work, redis.url, keys, "WARNING", {"INTROSPECTION_KEYS": key})
    stack.enter_context(bu.started(ours))
    bu.wait_for_http(ours, f"{ours_url}/")
    apps = {}
    for mode in MODES:
        process, url = resource_app(mode, work, ours_url, redis.url, key)
        stack.enter_context(bu.started(process))
        apps[mode] = (process, url)
    for process, url in apps.values():
        bu.wait_for_http(process, f"{url}/resource")

    access, _ = bu.sign_up_and_log_in(ours_url, "bench-resource@example.com")
    auth = {bu.HEADER: f"Bearer {access}"}
    introspect = post_script(work, "introspect", form=f"token={access}&token_type_hint=access_token")
    lines: list[tuple[str, Load, bu.Process]] = [
        *((f"resource GET /resource, {mode if mode != 'jwt' else 'JWT only'}"
           + (" mode" if mode != "jwt" else ""), Load(f"{url}/resource", auth, connections=args.connections),
           process) for mode, (process, url) in apps.items()),
        ("ours GET /user", Load(f"{ours_url}/user", auth, connections=args.connections), ours),
        ("ours POST /oauth/introspect", Load(f"{ours_url}/oauth/introspect", {"Authorization": f"Bearer {key}"},
                                             introspect, connections=args.connections), ours),
    ]
    rounds: list[list[bu.Result]] = []
    for _ in range(args.rounds):
        rounds.append([measure(label, load, args.duration, pid=process.popen.pid, warmup=args.warmup)
                       for label, load, process in lines])
    for process in [ours, *(process for process, _ in apps.values())]:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} died during the run:\n{process.tail()}")
    return rounds


def median_results(rounds: list[list[bu.Result]]) -> list[bu.Result]:
    medians = []
    for results in zip(*rounds, strict=True):
        middle = sorted(results, key=lambda r: r.requests_per_second)[len(results) // 2]
        errors = "; ".join(r.errors for r in results if r.errors)
        cpu = [r.cpu_us for r in results if r.cpu_us is not None]
        medians.append(bu.Result(middle.label, statistics.median(r.requests_per_second for r in results),
                                 middle.p50_ms, middle.p99_ms, sum(r.requests for r in results), errors,
                                 statistics.median(cpu) if cpu else None))
    return medians


def report(rounds: list[list[bu.Result]], args: argparse.Namespace) -> str:
    results = median_results(rounds)
    by = {r.label: r for r in results}
    width = max(len(r.label) for r in results)
    rows = [f"wrk -t2 -c{args.connections} -d{args.duration}s, {args.rounds} round(s), median shown; "
            f"{os.cpu_count()} CPU(s); load average before the run {args.load_before:.2f}",
            f"{'line':<{width}}  {'req/s':>9}  {'p50 ms':>7}  {'p99 ms':>7}  {'CPU µs/req':>10}  errors",
            "-" * (width + 52)]
    for r in results:
        cpu = f"{r.cpu_us:>10.0f}" if r.cpu_us is not None else f"{'?':>10}"
        rows.append(f"{r.label:<{width}}  {r.requests_per_second:>9,.0f}  {r.p50_ms:>7.2f}  {r.p99_ms:>7.2f}  "
                    f"{cpu}  {r.errors or '-'}")
    jwt_only = by["resource GET /resource, JWT only"].requests_per_second
    redis_mode = by["resource GET /resource, redis mode"].requests_per_second
    introspection_mode = by["resource GET /resource, introspection mode"].requests_per_second
    user = by["ours GET /user"].requests_per_second
    endpoint = by["ours POST /oauth/introspect"].requests_per_second

    def verdict(ratio: float) -> str:
        return "met" if ratio >= 0.8 else "MISSED"

    rows += ["",
             f"redis mode / JWT only:               {redis_mode / jwt_only:.2f}x  (target >= 0.8x: "
             f"{verdict(redis_mode / jwt_only)})",
             f"introspection mode / JWT only:       {introspection_mode / jwt_only:.2f}x  (no target)",
             f"POST /oauth/introspect / GET /user:  {endpoint / user:.2f}x  (target >= 0.8x: "
             f"{verdict(endpoint / user)})",
             "(CPU µs/req: the measured process alone: not redis-server, not the auth server behind introspection"
             " mode, not wrk)"]
    if any(r.errors for r in results):
        rows.append("INVALID: some line had non-2xx answers or socket errors (see the errors column)")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--duration", type=int, default=10, help="seconds per measured line (default 10)")
    parser.add_argument("--rounds", type=int, default=1, help="measure every line this many times, alternating")
    parser.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of unmeasured load before each line")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs)")
    args = parser.parse_args(argv)
    args.load_before = bu.preflight()
    if args.load_before is None:
        return 2
    return bu.run_bench("bench-resource-", args.keep,
                        lambda work, stack: report(measure_lines(args, work, stack), args))


if __name__ == "__main__":
    sys.exit(main())
