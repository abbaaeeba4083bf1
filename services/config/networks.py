"""Network settings (TRUSTED_PROXIES, METRICS_ALLOWED_NETWORKS): written as addresses or CIDR blocks."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`127.0.0.1`, `10.0.0.0/8`, `::1` ... as networks; raises ValueError naming a bad entry."""
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in values)
