"""Signed POSTs to hooks and webhook receivers, per the Standard Webhooks specification (standardwebhooks.com).

Each request carries `webhook-id` (the message's id: the same on every retry, so a receiver can de-duplicate),
`webhook-timestamp` (unix seconds, which the receiver checks against replays) and `webhook-signature`
(`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body` with the endpoint's secret), made by the
`standardwebhooks` package itself so that any receiver using a Standard Webhooks library verifies it.

One rule for every call: a total timeout, and at most MAX_ANSWER_BYTES read of an answer; whatever goes wrong
(refused, timed out, not 2xx, too long) is a `HookFailure`, and the caller's policy decides what it means.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from standardwebhooks.webhooks import Webhook
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

log = logging.getLogger("auth.hooks")
MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "python-jwt-auth-hooks/1"


class HookFailure(Exception):
    """The endpoint did not take the call: unreachable, too slow, not a 2xx answer (`status`), or an answer too
    long."""

    def __init__(self, problem: str, status: int | None = None) -> None:
        super().__init__(problem)
        self.status = status


class AnswerTooLarge(HookFailure):
    pass


@dataclass(frozen=True)
class HookAnswer:
    status: int
    body: bytes

    def json(self) -> Any:
        """The answer's JSON, or HookFailure when it is none (an empty answer is `{}`)."""
        if not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise HookFailure("the answer is not JSON") from None


class SignedPoster:
    def __init__(self, client: AsyncHTTPClient | None = None, max_clients: int = 100) -> None:
        # An instance of our own: Tornado's shared one queues past 10 requests at once, and hooks run inside
        # requests, many at a time.
        self._client = client or AsyncHTTPClient(force_instance=True, max_clients=max_clients)

    async def post(self, url: str, secret: str, message_id: str, payload: dict[str, Any], within: float,
                   max_answer_bytes: int = MAX_ANSWER_BYTES) -> HookAnswer:
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True)
        now = datetime.now(tz=UTC)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "webhook-id": message_id,
                   "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": Webhook(secret).sign(message_id, now, body)}
        chunks: list[bytes] = []
        received = 0

        def collect(chunk: bytes) -> None:
            nonlocal received
            received += len(chunk)
            if received > max_answer_bytes:
                raise AnswerTooLarge(f"the answer is longer than {max_answer_bytes} bytes")
            chunks.append(chunk)

        request = HTTPRequest(url, method="POST", headers=headers, body=body, request_timeout=within,
                              connect_timeout=within, follow_redirects=False, streaming_callback=collect)
        try:
            # raise_error=False keeps only non-2xx answers from raising; a timeout or a refused connection raises.
            response = await self._client.fetch(request, raise_error=False)
        except AnswerTooLarge:
            raise
        except HTTPClientError as exc:  # 599: Tornado's code for "no answer" (timed out, connection closed)
            raise HookFailure("timed out" if exc.code == 599 and "Timeout" in str(exc) else f"no answer: {exc}") \
                from None
        except Exception as exc:  # refused, reset, DNS, TLS: the endpoint did not take it
            raise HookFailure(f"{type(exc).__name__}: {exc}") from None
        if not 200 <= response.code < 300:
            raise HookFailure(f"answered HTTP {response.code}", status=response.code)
        return HookAnswer(status=response.code, body=b"".join(chunks))

    def close(self) -> None:
        self._client.close()
