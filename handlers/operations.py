"""Probes and metrics for whoever runs the server: load balancers, orchestrators and Prometheus.

`/healthz` is open to everyone and checks no dependency: only whether the server can still recover by itself.
`/readyz` tells anyone whether to send traffic. Only clients from `METRICS_ALLOWED_NETWORKS` learn which part is
down (`checks`). `/metrics` exists only for those networks:
everyone else gets the API's 404, so the internet learns neither the numbers nor that the route is there.
"""

from __future__ import annotations

import ipaddress

import tornado.web

from handlers.base import BaseHandler
from services.operations import METRICS_CONTENT_TYPE, all_ok
from services.outcomes import NOT_ALIVE, NOT_READY, AuthError


class OperationsHandler(BaseHandler):
    def from_operators(self) -> bool:
        """Whether the client (behind TRUSTED_PROXIES, as resolved for rate limits) is on an operators' network."""
        try:
            address = ipaddress.ip_address(self.client.ip)
        except ValueError:  # not an IP address (a Unix socket peer): nobody we can vouch for
            return False
        return any(address in network for network in self.application.operator_networks)


class HealthHandler(OperationsHandler):
    """Alive: the process answers HTTP and nothing it runs itself is beyond repair (the embedded redis-server
    keeps dying at start: runtime/redis_keeper.py). No dependency is checked: a database outage restarts nothing."""

    def get(self) -> None:
        checks = self.services.operations.liveness.checks()
        if checks:
            raise AuthError(NOT_ALIVE, details={"checks": checks} if self.from_operators() else {})
        self.write_json({"status": "ok"})


class ReadinessHandler(OperationsHandler):
    async def get(self) -> None:
        checks = await self.services.operations.readiness.checks()
        details = {"checks": checks} if self.from_operators() else {}
        if not all_ok(checks):
            raise AuthError(NOT_READY, details=details)
        self.write_json({"status": "ok", **details})


class MetricsHandler(OperationsHandler):
    async def get(self) -> None:
        exposition = self.services.operations.exposition
        if exposition is None or not self.from_operators():
            raise tornado.web.HTTPError(404)
        body = await exposition.render()
        self.set_header("Content-Type", METRICS_CONTENT_TYPE)
        self.finish(body)
