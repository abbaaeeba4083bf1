"""A CAPTCHA provider's siteverify endpoint for tests (Turnstile and hCaptcha answer alike), over HTTP on loopback:
tokens it issued pass once, anything else fails; `delay` makes it slow, `secret` is the one it accepts."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import tornado.web

CAPTCHA_SECRET = "0x4AAAAAAAcaptcha-test-secret"


@dataclass
class FakeSiteVerify:
    base_url: str = ""
    valid: set[str] = field(default_factory=set)
    checks: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0

    @property
    def url(self) -> str:
        return f"{self.base_url}/siteverify"

    def solve(self) -> str:
        """A token as the widget gives a person who solved the challenge: good for one check."""
        token = secrets.token_urlsafe(24)
        self.valid.add(token)
        return token


class _SiteVerify(tornado.web.RequestHandler):
    def initialize(self, fake: FakeSiteVerify) -> None:
        self.fake = fake

    async def post(self) -> None:
        form = {key: values[0] for key, values in parse_qs(self.request.body.decode()).items()}
        self.fake.checks.append(form)
        if self.fake.delay:
            await asyncio.sleep(self.fake.delay)
        answer: dict[str, Any]
        if form.get("secret") != CAPTCHA_SECRET:
            answer = {"success": False, "error-codes": ["invalid-input-secret"]}
        elif form.get("response") in self.fake.valid:
            self.fake.valid.discard(form["response"])
            answer = {"success": True, "hostname": "localhost", "error-codes": []}
        else:
            answer = {"success": False, "error-codes": ["invalid-input-response"]}
        self.set_header("Content-Type", "application/json")
        self.finish(answer)


def siteverify_app(fake: FakeSiteVerify) -> tornado.web.Application:
    return tornado.web.Application([(r"/siteverify", _SiteVerify, {"fake": fake})])


def captcha_settings(fake: FakeSiteVerify, **more: Any) -> dict[str, Any]:
    return {"captcha_provider": "turnstile", "captcha_secret": CAPTCHA_SECRET, "captcha_verify_url": fake.url,
            "captcha_timeout_seconds": 2, **more}
