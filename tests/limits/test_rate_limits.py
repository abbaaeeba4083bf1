"""Rate limits: per-IP quotas on signup and on login+refresh, the failed-login lock per account with
growing back-off, trusted proxies, limits shared by server processes, and the pieces underneath.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
from support.api import PASSWORD, Api, Response, signup_from, with_settings
from support.processes import free_port

from services.config import Rate, parse_networks
from services.limits import ClientAddressResolver
from services.limits.limiter import RateLimiter, subject_key

# Every test here runs against the standalone Redis and against a three-primary Redis Cluster.
pytestmark = pytest.mark.redis_cluster_too

ROOT = Path(__file__).resolve().parents[2]
RATE_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")
BASE_SETTINGS = {"rate_limit_signup": "3/60", "rate_limit_login_failures": "3/60", "login_lock_base_seconds": 1}


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """BASE_SETTINGS, plus what a test asks for with `with_settings`."""
    return {**BASE_SETTINGS, **getattr(request, "param", {})}


def assert_limited(response: Response) -> None:
    assert (response.status, response.json.get("code")) == (429, "auth/too-many-requests"), response.body
    assert int(response.headers["Retry-After"]) >= 1
    for name in RATE_HEADERS:
        assert name in response.headers, name
    assert response.headers["RateLimit-Remaining"] == "0"


async def fail_logins(api: Api, email: str, times: int) -> None:
    for _ in range(times):
        response = await api.login(email=email, password="wrong password!")
        assert response.status == 401, response.body


async def login_with(api: Api, token: str | None, email: str = "omar@quazi.co") -> Response:
    return await api.post("/login", {"email": email, "password": PASSWORD}, token=token)


# --- per-IP quotas -----------------------------------------------------------------------------------

@pytest.mark.gen_test
async def test_signup_quota_counts_down_then_refuses(api: Api) -> None:
    remaining = []
    for n in range(3):
        response = await api.signup(email=f"user{n}@quazi.co")
        assert response.status == 200, response.body
        assert response.headers["RateLimit-Limit"] == "3"
        remaining.append(int(response.headers["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    refused = await api.signup(email="user3@quazi.co")
    assert_limited(refused)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert (await api.login(email="user3@quazi.co")).status == 401  # the refused signup created nothing


@with_settings(rate_limit_token="3/60")
@pytest.mark.gen_test
async def test_token_quota_covers_login_and_refresh_together(api: Api, settings: dict[str, Any]) -> None:
    tokens = await api.signed_up_tokens()  # one login
    assert (await api.post("/refresh", {"token": tokens["refresh_token"]})).status == 200
    assert (await api.login()).status == 200
    assert_limited(await api.post("/refresh", {"token": tokens["refresh_token"]}))
    assert_limited(await api.login())


# --- failed logins per account -------------------------------------------------------------------------

@pytest.mark.gen_test(timeout=30)
async def test_lock_after_failures_then_expiry_clears_the_count(api: Api) -> None:
    assert (await api.signup()).status == 200
    await fail_logins(api, "omar@quazi.co", 3)
    locked = await api.login()
    assert_limited(locked)
    assert locked.headers["Retry-After"] == "1"
    await asyncio.sleep(1.2)
    assert (await api.login()).status == 200
    # The success forgot the earlier failures: two more are still under the limit of 3.
    await fail_logins(api, "omar@quazi.co", 2)
    assert (await api.login()).status == 200


@with_settings(rate_limit_login_failures="3/3")
@pytest.mark.standalone_redis_only  # waits out real seconds; the lock script's cluster run is the test above
@pytest.mark.gen_test(timeout=30)
async def test_back_off_grows_and_is_capped_by_the_window(api: Api, settings: dict[str, Any]) -> None:
    assert (await api.signup()).status == 200
    await fail_logins(api, "omar@quazi.co", 3)
    waits = []
    for _ in range(3):
        locked = await api.login()
        assert_limited(locked)
        waits.append(int(locked.headers["Retry-After"]))
        await asyncio.sleep(waits[-1] + 0.2)
        if len(waits) < 3:
            await fail_logins(api, "omar@quazi.co", 1)
    assert waits == [1, 2, 3]  # 1 s, doubled, then the 3 s window instead of 4 s
    assert (await api.login()).status == 200


@with_settings(login_lock_base_seconds=30)
@pytest.mark.gen_test
async def test_unknown_accounts_lock_exactly_like_known_ones(api: Api, settings: dict[str, Any]) -> None:
    """Both accounts fail and are asked side by side, so their locks start and are read at the same moments: a
    request slowed down by a busy machine delays both alike, and the times left still compare exactly."""
    assert (await api.signup()).status == 200
    await asyncio.gather(fail_logins(api, "omar@quazi.co", 3), fail_logins(api, "ghost@quazi.co", 3))
    known, unknown = await asyncio.gather(api.login(), api.login(email="ghost@quazi.co"))
    assert_limited(known)
    assert_limited(unknown)
    assert known.body == unknown.body
    assert {n: known.headers[n] for n in (*RATE_HEADERS, "Retry-After")} == \
        {n: unknown.headers[n] for n in (*RATE_HEADERS, "Retry-After")}


@with_settings(login_lock_base_seconds=30)
@pytest.mark.gen_test
async def test_the_owners_live_session_bypasses_the_lock(api: Api, settings: dict[str, Any]) -> None:
    mine = await api.signed_up_tokens()
    eves = await api.signed_up_tokens(email="eve@quazi.co")
    stale = mine["refresh_token"]
    child = (await api.post("/refresh", {"token": stale})).json["refresh_token"]
    current = (await api.post("/refresh", {"token": child})).json["refresh_token"]  # `stale` is 2 rotations old
    await fail_logins(api, "omar@quazi.co", 3)
    for not_the_owners in (None, eves["access_token"], eves["refresh_token"], "not-a-token", stale):
        assert_limited(await login_with(api, not_the_owners))
    for owners in (mine["access_token"], current, child):  # `child` is the forgivable parent of `current`
        assert (await login_with(api, owners)).status == 200
        await fail_logins(api, "omar@quazi.co", 3)  # that success cleared the count: lock it again
        assert_limited(await login_with(api, None))
    # The bypass needs the right password all the same.
    wrong = await api.post("/login", {"email": "omar@quazi.co", "password": "nope nope"}, token=current)
    assert wrong.status == 401


@with_settings(login_lock_base_seconds=30)
@pytest.mark.gen_test
async def test_the_owners_refreshes_do_not_forgive_a_guessers_failures(api: Api, settings: dict[str, Any]) -> None:
    """A refresh proves a session, not the password: were it to clear the counts, a guesser would get a fresh
    allowance (NIST 800-63B 5.2.2's 100 overall) every time the owner's app refreshed. Before, it cleared them."""
    mine = await api.signed_up_tokens()
    await fail_logins(api, "omar@quazi.co", 2)
    refreshed = await api.post("/refresh", {"token": mine["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
    await fail_logins(api, "omar@quazi.co", 1)  # the 3rd failure in a row for the password
    assert_limited(await login_with(api, None))
    assert (await login_with(api, refreshed.json["access_token"])).status == 200  # the owner's session still gets in


# --- client IP behind proxies ------------------------------------------------------------------------------

@with_settings(trusted_proxies=("127.0.0.1",))
@pytest.mark.gen_test
async def test_behind_a_trusted_proxy_each_client_has_its_own_quota(api: Api, settings: dict[str, Any]) -> None:
    for n in range(3):
        assert (await signup_from(api, f"6.6.6.{n}, 203.0.113.1", n)).status == 200  # spoofed left entries
    assert_limited(await signup_from(api, "203.0.113.1", 3))
    assert (await signup_from(api, "203.0.113.2", 4)).status == 200


@pytest.mark.gen_test
async def test_without_trusted_proxies_forwarded_for_is_ignored(api: Api) -> None:
    for n in range(3):
        assert (await signup_from(api, f"203.0.113.{n}", n)).status == 200
    assert_limited(await signup_from(api, "203.0.113.9", 3))


# --- two processes, one Redis ------------------------------------------------------------------------------

@pytest.fixture
def two_servers(redis_url: str, keys_dir: Path, tmp_path: Path, services: Any) -> Iterator[list[str]]:
    """Two `server.py serve` processes on one (flushed) Redis; yields their base URLs, then SIGTERMs them. Each has a
    DATA_DIR of its own: a second server in the same folder refuses to start (one server per folder)."""
    ports, processes = [free_port(), free_port()], []
    for n, port in enumerate(ports):
        env = {**os.environ, "REDIS_URL": redis_url, "JWT_KEYS": str(keys_dir), "DATA_DIR": str(tmp_path / f"data{n}"),
               "BCRYPT_COST": "4", "RATE_LIMIT_SIGNUP": "5/60", "PORT": str(port), "LOG_LEVEL": "WARNING"}
        env.pop("MONGO_URL", None)
        with (tmp_path / f"server{n}.log").open("w") as log:
            processes.append(subprocess.Popen([sys.executable, "server.py", "serve"], cwd=ROOT, env=env,
                                              stdout=log, stderr=subprocess.STDOUT))
    yield [f"http://127.0.0.1:{port}" for port in ports]
    for process in processes:
        process.send_signal(signal.SIGTERM)
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(15))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    assert codes == [0, 0], [(tmp_path / f"server{n}.log").read_text()[-2000:] for n in range(2)]


async def wait_until_up(client: tornado.httpclient.AsyncHTTPClient, url: str) -> None:
    for _ in range(300):
        try:
            if (await client.fetch(url + "/", raise_error=False)).code == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not start")


@pytest.mark.gen_test(timeout=90)
async def test_two_server_processes_share_one_quota(two_servers: list[str],
                                                    http_client: tornado.httpclient.AsyncHTTPClient) -> None:
    for url in two_servers:
        await wait_until_up(http_client, url)
    statuses = []
    for n in range(10):
        response = await Api(http_client, two_servers[n % 2]).signup(email=f"user{n}@quazi.co")
        statuses.append(response.status)
    assert statuses == [200] * 5 + [429] * 5


# --- the limiter and the address resolver on their own --------------------------------------------------

@pytest.mark.gen_test(timeout=20)
async def test_gcra_allows_a_burst_then_refills_one_at_a_time(redis: Any) -> None:
    limiter, rate = RateLimiter(redis), Rate(3, 3)
    decisions = [await limiter.hit("test", "203.0.113.7", rate) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[2].reset_seconds == 3
    assert decisions[3].retry_after == 1
    assert "Retry-After" in decisions[3].headers() and "Retry-After" not in decisions[0].headers()
    await asyncio.sleep(1.1)
    again = [await limiter.hit("test", "203.0.113.7", rate) for _ in range(2)]
    assert [d.allowed for d in again] == [True, False]
    assert (await limiter.hit("test", "203.0.113.8", rate)).allowed  # another subject, its own quota


@pytest.mark.gen_test
async def test_a_rate_finer_than_a_millisecond_still_counts(redis: Any) -> None:
    """A billion a minute (benchmarks raise limits that far): each hit's share of the window is below the
    millisecond, and the counter's expiry must still be a valid one, not a 500 on every request."""
    limiter, rate = RateLimiter(redis), Rate.parse("1000000000/1m")
    decisions = [await limiter.hit("test", "203.0.113.7", rate) for _ in range(3)]
    assert all(d.allowed for d in decisions)
    # Its expiry is the 1 ms minimum: by now the key may be gone (-2), but it is never kept forever (-1).
    assert await redis.pttl(subject_key("test", "203.0.113.7")) in (-2, 0, 1)


@pytest.mark.gen_test
async def test_quota_keys_never_contain_the_raw_subject(redis: Any) -> None:
    limiter, subjects = RateLimiter(redis), ["omar@quazi.co", "203.0.113.7", "2001:db8::1"]
    for subject in subjects:
        await limiter.hit("token", subject, Rate(5, 60))
    keys = [key async for key in redis.scan_iter()]  # of every primary, on a cluster
    assert len(keys) == len(subjects)
    for key in keys:
        assert not any(part in key for s in subjects for part in (s, s.split("@")[0], "quazi", "203.0.113"))


def resolver(*trusted: str) -> ClientAddressResolver:
    return ClientAddressResolver(parse_networks(trusted))


def test_spoofed_leftmost_forwarded_entries_are_ignored() -> None:
    proxy = resolver("127.0.0.1", "10.0.0.0/8")
    assert proxy.resolve("127.0.0.1", "6.6.6.6, 203.0.113.7") == "203.0.113.7"
    assert proxy.resolve("127.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.2, 10.1.1.1") == "203.0.113.7"
    assert proxy.resolve("127.0.0.1", "203.0.113.7") == "203.0.113.7"
    assert proxy.resolve("127.0.0.1", "6.6.6.6, not-an-address") == "127.0.0.1"
    assert proxy.resolve("127.0.0.1", None) == "127.0.0.1"


def test_an_untrusted_peer_cannot_set_its_address() -> None:
    assert resolver("10.0.0.0/8").resolve("198.51.100.4", "203.0.113.7") == "198.51.100.4"
    assert resolver().resolve("127.0.0.1", "203.0.113.7") == "127.0.0.1"


def test_ipv6_peers_and_forwarded_addresses() -> None:
    proxy = resolver("::1", "fd00::/8")
    assert proxy.resolve("::1", "2001:DB8:0::1, fd00::5") == "2001:db8::1"
    assert proxy.resolve("2001:db8::9", "2001:db8::1") == "2001:db8::9"
    assert resolver("127.0.0.1").resolve("127.0.0.1", "6.6.6.6, 2001:db8::1") == "2001:db8::1"
