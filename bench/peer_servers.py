"""Every server bench/compare.py measures, started side by side on 127.0.0.1 and stopped with its ExitStack."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
import urllib.request
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import bench_user as bu

BENCH = Path(__file__).resolve().parent
SEEDED_PASSWORD = bu.PASSWORD


@dataclass
class Servers:
    """Base URLs and a working token for each server; `processes` by name for CPU accounting."""

    ours: str = ""
    ours_access: str = ""
    ours_refresh: str = ""
    ceiling: str = ""
    fastapi: str = ""
    fastapi_access: str = ""
    flask: str = ""
    flask_access: str = ""
    flask_refresh: str = ""
    seeded: list[str] = field(default_factory=list)
    seeded_access: list[str] = field(default_factory=list)
    single: tuple[str, str] = ("", "")
    multi: list[tuple[str, str]] = field(default_factory=list)
    scaling_kind: str = ""
    single_name: str = ""
    multi_names: list[str] = field(default_factory=list)
    processes: dict[str, bu.Process] = field(default_factory=dict)

    def pid(self, name: str) -> int:
        return self.processes[name].popen.pid


def _our_env(work: Path, name: str, redis_url: str, keys: Path, cost: int, mongo_url: str = "") -> dict[str, str]:
    data_dir = work / f"data-{name}"
    data_dir.mkdir()
    # Only what we set: a setting in the caller's environment must not change what is measured.
    inherited = {k: v for k, v in os.environ.items() if k not in {*bu.setting_names(), "AUTH_CONFIG"}}
    return {**inherited, "REDIS_URL": redis_url, "JWT_KEYS": str(keys), "DATA_DIR": str(data_dir),
            "BCRYPT_COST": str(cost), "LOG_LEVEL": "WARNING", "MONGO_URL": mongo_url,
            "JWT_KEYS_AUTO_GENERATE": "false",
            # One client IP sends everything: the per-IP quotas are lifted so the work is measured, not the limit
            # (no higher: at 1e9/1m the GCRA step is below a float ulp of the clock in ms, and Redis refuses PX 0).
            "RATE_LIMIT_TOKEN": "100000000/1m", "RATE_LIMIT_SIGNUP": "100000000/1m",
            "RATE_LIMIT_LOGIN_FAILURES": "100000000/1m",
            # The login lines log one user in thousands of times: SESSION_MAX_PER_USER (100) would end the older
            # sessions, the one GET /user's token belongs to among them, and the flood line would measure 401s.
            "SESSION_MAX_PER_USER": "100000000"}


def _start(stack: ExitStack, s: Servers, name: str, args: list[str], work: Path, env: dict[str, str] | None,
           probe: str) -> str:
    port = bu.free_port()
    process = bu.Process(name, [a.replace("{port}", str(port)) for a in args], work / f"{name}.log", env)
    stack.enter_context(bu.started(process))
    s.processes[name] = process
    url = f"http://127.0.0.1:{port}"
    bu.wait_for_http(process, url + probe, timeout=120)
    return url


def _fastapi_token(base: str) -> str:
    bu.call("POST", f"{base}/auth/register", {"email": "bench@example.com", "password": bu.PASSWORD})
    form = urllib.parse.urlencode({"username": "bench@example.com", "password": bu.PASSWORD}).encode()
    request = urllib.request.Request(f"{base}/auth/jwt/login", data=form, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own loopback server)
        token = str(bu.json.loads(response.read())["access_token"])
    check = urllib.request.Request(f"{base}/users/me", headers={"Authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(check, timeout=10):  # noqa: S310 (the token works before we measure with it)
        return token


def _flask_tokens(base: str) -> tuple[str, str]:
    bu.call("POST", f"{base}/signup", {"name": "Bench User", "email": "bench@example.com", "password": bu.PASSWORD})
    tokens = bu.call("POST", f"{base}/login", {"email": "bench@example.com", "password": bu.PASSWORD})["tokens"]
    return tokens["access_token"], tokens["refresh_token"]


def _login(base: str, email: str) -> str:
    answer = bu.call("POST", f"{base}/login", {"email": email, "password": SEEDED_PASSWORD})
    return str(answer["tokens"]["access_token"])


def start_servers(args: argparse.Namespace, work: Path, stack: ExitStack) -> Servers:
    s = Servers()
    keys = work / "keys"
    kid = bu.keyfiles.generate(keys, "RS256")
    redis = bu.EmbeddedRedis(work / "redis", port=bu.free_port(), persistent=False)
    redis.start()
    stack.callback(redis.stop)
    cost = args.bcrypt_cost
    serve = [sys.executable, "server.py", "serve", "--port", "{port}"]

    print("starting servers ...", file=sys.stderr, flush=True)
    s.ours = _start(stack, s, "ours", serve, work, _our_env(work, "ours", redis.url, keys, cost), "/")
    s.ours_access, s.ours_refresh = bu.sign_up_and_log_in(s.ours, "bench@example.com")
    s.ceiling = _start(stack, s, "ceiling", [sys.executable, str(BENCH / "ceiling_server.py"), "--port", "{port}",
                                             "--public-key", str(keys / f"{kid}.pub")], work, None, "/user")
    if args.peer_bin is not None:
        peer_env = {**os.environ, "PEER_PRIVATE_KEY": str(keys / f"{kid}.key"), "PEER_PUBLIC_KEY":
                    str(keys / f"{kid}.pub"), "PEER_KID": kid, "PEER_BCRYPT_COST": str(cost)}
        s.fastapi = _start(stack, s, "fastapi", [
            str(args.peer_bin / "uvicorn"), "--app-dir", str(BENCH / "peers"), "fastapi_users_app:app",
            "--host", "127.0.0.1", "--port", "{port}", "--no-access-log", "--log-level", "warning"],
            work, {**peer_env, "PEER_DB": str(work / "fastapi-users.sqlite")}, "/docs")
        s.fastapi_access = _fastapi_token(s.fastapi)
        s.flask = _start(stack, s, "flask", [
            str(args.peer_bin / "gunicorn"), "--chdir", str(BENCH / "peers"), "-w", "1", "-k", "sync",
            "-b", "127.0.0.1:{port}", "--log-level", "warning", "flask_seed_app:app"],
            work, {**peer_env, "PEER_DB": str(work / "flask.sqlite")}, "/user")
        s.flask_access, s.flask_refresh = _flask_tokens(s.flask)

    for index, count in enumerate((args.users_small, args.users_large)):
        name = f"seeded-{index}"
        url = _start(stack, s, name, [sys.executable, str(BENCH / "seeded_server.py"), "--users", str(count),
                                      "--port", "{port}", "--password", SEEDED_PASSWORD],
                     work, _our_env(work, name, redis.url, keys, cost), "/")
        s.seeded.append(url)
        s.seeded_access.append(_login(url, "seeded-0@example.com"))

    mongo_url = os.environ.get("MONGO_URL", "")
    n = args.processes
    if mongo_url:  # a real MongoDB: the server's own `serve --processes N`, one store for all of them
        one = _start(stack, s, "single", serve, work, _our_env(work, "single", redis.url, keys, cost, mongo_url), "/")
        access = _login_or_sign_up(one, "bench-scaling@example.com")
        many = _start(stack, s, "multi", [*serve, "--processes", str(n)], work,
                      _our_env(work, "multi", redis.url, keys, cost, mongo_url), "/")
        s.single, s.multi, s.scaling_kind = (one, access), [(many, access)] * n, "processes (serve --processes)"
        s.single_name, s.multi_names = "single", ["multi"]
    else:  # embedded users are per process: N independent servers on N ports, one Redis, a user on each
        for index in range(n):
            url = _start(stack, s, f"scaled-{index}", serve, work,
                         _our_env(work, f"scaled-{index}", redis.url, keys, cost), "/")
            s.multi.append((url, _login_or_sign_up(url, "bench-scaling@example.com")))
        s.single, s.scaling_kind = s.multi[0], "independent servers, one Redis"
        s.single_name, s.multi_names = "scaled-0", [f"scaled-{index}" for index in range(n)]
    return s


def _login_or_sign_up(base: str, email: str) -> str:
    try:
        return bu.sign_up_and_log_in(base, email)[0]
    except bu.urllib.error.HTTPError:  # already there (a shared MongoDB)
        return _login(base, email)
