"""Which address a request really came from, for rate limits and the audit log.

`X-Forwarded-For` is written by whoever sent the request, so it is believed only when the direct peer
is one of our own proxies (`TRUSTED_PROXIES`), and then read from the right: the first address that
is not a trusted proxy is the client. Anything a client prepends itself stays to the left, unread.
"""

from __future__ import annotations

import ipaddress

from services.config import Network


class ClientAddressResolver:
    def __init__(self, trusted_proxies: tuple[Network, ...]) -> None:
        self._trusted = trusted_proxies

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def resolve(self, peer: str, forwarded_for: str | None) -> str:
        if not self._trusted or not forwarded_for or not self._is_trusted(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._is_trusted(hop):
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    return peer  # a proxy we trust passed on garbage: fall back to what we can see
        return hops[0] if hops else peer
