"""Pwned Passwords' range API for tests, over HTTP on loopback: `GET /range/<5 hex>` answers the suffixes of the
breached passwords it was given (and padding lines of count 0 when asked for `Add-Padding`), and remembers every
request, so a test can check that nothing but the 5-character prefix ever reached it."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

import tornado.web


@dataclass
class FakePwnedPasswords:
    base_url: str = ""
    breached: set[str] = field(default_factory=set)  # SHA-1, upper-case hex
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0
    down: bool = False

    @property
    def url(self) -> str:
        return f"{self.base_url}/range/"

    def breach(self, password: str) -> None:
        self.breached.add(hashlib.sha1(password.encode()).hexdigest().upper())  # noqa: S324 (the API's scheme)


class _Range(tornado.web.RequestHandler):
    def initialize(self, fake: FakePwnedPasswords) -> None:
        self.fake = fake

    async def get(self, prefix: str) -> None:
        self.fake.requests.append((self.request.uri or "", dict(self.request.headers)))
        if self.fake.delay:
            await asyncio.sleep(self.fake.delay)
        if self.fake.down:
            raise tornado.web.HTTPError(503)
        lines = [f"{sha[5:]}:{n + 3}" for n, sha in enumerate(sorted(self.fake.breached)) if sha.startswith(prefix)]
        lines += [f"{secrets.token_hex(18)[:35].upper()}:{n + 1}" for n in range(5)]  # strangers' breaches
        if self.request.headers.get("Add-Padding") == "true":
            lines += [f"{secrets.token_hex(18)[:35].upper()}:0" for _ in range(20)]
        self.set_header("Content-Type", "text/plain")
        self.finish("\r\n".join(lines))


def pwned_app(fake: FakePwnedPasswords) -> tornado.web.Application:
    return tornado.web.Application([(r"/range/([0-9A-F]{5})", _Range, {"fake": fake})])


def breach_settings(fake: FakePwnedPasswords, **more: Any) -> dict[str, Any]:
    return {"password_breach_check": "hibp", "password_breach_url": fake.url, "password_breach_timeout_seconds": 1,
            **more}
