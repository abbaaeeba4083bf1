"""Issue 12, item 8: clients count per network, an IPv4 address or an IPv6 /64 (`RATE_LIMIT_IPV6_PREFIX`), in
every per-client quota and in the failed-login counts: changing address inside the /64 one was handed buys nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from support.api import PASSWORD, Api, signup_from, with_settings

from services.limits import client_network

# Every test here runs against the standalone Redis and against a three-primary Redis Cluster.
pytestmark = pytest.mark.redis_cluster_too


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Clients are told apart by `X-Forwarded-For` from the loopback proxy."""
    return {"trusted_proxies": ("127.0.0.1",), "rate_limit_token": "1000/60", **getattr(request, "param", {})}


@with_settings(rate_limit_signup="3/60")
@pytest.mark.gen_test
async def test_ipv6_clients_share_one_quota_per_64(api: Api, settings: dict[str, Any]) -> None:
    for n in range(3):
        assert (await signup_from(api, f"2001:db8:1:2::{n + 1}", n)).status == 200
    assert (await signup_from(api, "2001:db8:1:2:ffff:ffff:ffff:ffff", 3)).status == 429
    assert (await signup_from(api, "2001:db8:1:3::1", 4)).status == 200  # the next /64 is another client


@with_settings(rate_limit_signup="3/60", rate_limit_ipv6_prefix=128)
@pytest.mark.gen_test
async def test_the_ipv6_prefix_is_a_setting(api: Api, settings: dict[str, Any]) -> None:
    for n in range(5):
        assert (await signup_from(api, f"2001:db8:1:2::{n + 1}", n)).status == 200


def test_client_networks() -> None:
    assert client_network("203.0.113.7", 64) == "203.0.113.7"
    assert client_network("::ffff:203.0.113.7", 64) == "203.0.113.7"  # IPv4 on a dual-stack socket
    assert client_network("2001:db8:1:2:3:4:5:6", 64) == "2001:db8:1:2::/64"
    assert client_network("2001:DB8:1:2::9", 48) == "2001:db8:1::/48"
    assert client_network("2001:db8::1", 128) == "2001:db8::1/128"
    assert client_network("not an address", 64) == "not an address"


@with_settings(rate_limit_login_failures="3/900", login_lock_base_seconds=30)
@pytest.mark.gen_test
async def test_failed_logins_count_per_64_too(api: Api, settings: dict[str, Any]) -> None:
    assert (await api.signup()).status == 200
    for n in range(3):
        wrong = await api.post("/login", {"email": "omar@quazi.co", "password": "wrong password!"},
                               headers={"X-Forwarded-For": f"2001:db8:66:1::{n + 1}"})
        assert wrong.status == 401
    for address, status in (("2001:db8:66:1::ffff", 429), ("2001:db8:66:2::1", 200)):
        response = await api.post("/login", {"email": "omar@quazi.co", "password": PASSWORD},
                                  headers={"X-Forwarded-For": address})
        assert response.status == status, (address, response.body)
