"""A real HTTP receiver for hooks and webhooks on a loopback port: it checks every request's Standard Webhooks
signature with the `standardwebhooks` library itself, and can be told to answer, fail, hang or recover.

Per path (one hook or webhook endpoint each) it records what it received, verified, in arrival order; a request
whose signature does not verify is counted in `bad_signatures` and answered 401, so a test that expects
deliveries sees them missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.testing
import tornado.web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"receiver-secret-of-32-bytes-long").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"a-different-secret-of-32-bytes!!").decode()


@dataclass(frozen=True)
class Received:
    path: str
    id: str
    timestamp: str
    payload: Any


@dataclass
class Behaviour:
    """What a path answers: `status` and `answer` (JSON, or bytes as they are), after `delay` seconds."""

    status: int = 200
    answer: Any = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.base_url = ""
        self.received: dict[str, list[Received]] = {}
        self.attempts: dict[str, int] = {}
        self.bad_signatures = 0
        self.behaviours: dict[str, Behaviour] = {}
        self.arrived = asyncio.Event()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def behave(self, path: str, status: int = 200, answer: Any = None, delay: float = 0.0) -> None:
        self.behaviours[path] = Behaviour(status=status, answer={} if answer is None else answer, delay=delay)

    def of(self, path: str) -> list[Received]:
        return self.received.get(path, [])

    def types(self, path: str) -> list[str]:
        return [item.payload["type"] for item in self.of(path)]

    async def wait_for(self, path: str, count: int, within: float = 10.0) -> list[Received]:
        """Until `path` has received `count` verified requests that it answered 2xx (or `within` passes)."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.of(path)) < count and asyncio.get_running_loop().time() < deadline:
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout=0.1)
        return self.of(path)


class _Endpoint(tornado.web.RequestHandler):
    def initialize(self, receiver: Receiver) -> None:
        self.receiver = receiver

    async def post(self, path: str) -> None:
        receiver = self.receiver
        receiver.attempts[path] = receiver.attempts.get(path, 0) + 1
        try:
            payload = Webhook(receiver.secret).verify(self.request.body, dict(self.request.headers))
        except WebhookVerificationError:
            receiver.bad_signatures += 1
            self.set_status(401)
            self.finish({"error": "bad signature"})
            return
        behaviour = receiver.behaviours.get(path, Behaviour())
        if behaviour.delay:
            await asyncio.sleep(behaviour.delay)
        self.set_status(behaviour.status)
        if 200 <= behaviour.status < 300:
            receiver.received.setdefault(path, []).append(Received(
                path, self.request.headers["webhook-id"], self.request.headers["webhook-timestamp"], payload))
            receiver.arrived.set()
        answer = behaviour.answer
        self.set_header("Content-Type", "application/json")
        self.finish(answer if isinstance(answer, bytes) else json.dumps(answer))


def start_receiver(secret: str = SECRET) -> tuple[Receiver, tornado.httpserver.HTTPServer]:
    """A receiver on a free loopback port of the running IOLoop; stop the server when done."""
    receiver = Receiver(secret)
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/(.*)", _Endpoint, {"receiver": receiver})]))
    server.add_sockets([sock])
    receiver.base_url = f"http://127.0.0.1:{port}"
    return receiver, server


def hook(receiver: Receiver, name: str, **options: Any) -> dict[str, Any]:
    """A HOOKS entry pointing at `receiver`'s path `name`."""
    return {"url": receiver.url(name), "secret": receiver.secret, "timeout_seconds": 2, "on_failure": "reject",
            **options}


def webhook(receiver: Receiver, path: str, events: list[str] | None = None) -> dict[str, Any]:
    return {"url": receiver.url(path), "secret": receiver.secret, "events": events or ["*"]}
