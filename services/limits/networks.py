"""Which network a client address counts as, for every per-client quota and the failed-login counts.

An IPv4 address is one client. An IPv6 subscriber is usually handed a whole /64 (RFC 6177, RIPE-690) and picks
addresses in it at will (RFC 8981 temporary addresses change by themselves), so counting per address would give
one client 2^64 quotas: IPv6 clients count per network of `RATE_LIMIT_IPV6_PREFIX` bits.
"""

from __future__ import annotations

import ipaddress


def client_network(address: str, ipv6_prefix: int) -> str:
    """`203.0.113.7` stays itself; `2001:db8:1:2:3:4:5:6` with 64 is `2001:db8:1:2::/64`.

    An IPv4 client seen through a dual-stack socket (`::ffff:203.0.113.7`) is the IPv4 client it is. Text that is
    no address (a proxy we trust passed on garbage) is counted as it is written."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    return str(ipaddress.IPv6Network((ip, ipv6_prefix), strict=False))
