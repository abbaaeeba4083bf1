"""What the HTTP layer may say about a request in a log line: a summary with its query values redacted, and the
list of values the client sent, which an error line must not repeat (services/operations/redaction.py redacts).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

import tornado.httputil

from services.operations import redact_url

# Headers that carry credentials (besides the configured token header) or whatever a client put in them.
CREDENTIAL_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie", "X-Api-Key")
MAX_SCANNED_BODY = 64 * 1024  # an upload's bytes are not text a message could repeat


def request_summary(request: tornado.httputil.HTTPServerRequest, client_ip: str) -> str:
    """`GET /refresh?token=[redacted] (203.0.113.7)`: Tornado's summary, without the secrets."""
    return f"{request.method} {redact_url(request.uri or '')} ({client_ip})"


def sent_values(request: tornado.httputil.HTTPServerRequest, body: bytes, token_header: str) -> list[str]:
    """Every value the client sent that could be a secret: query values, credential headers and their parts,
    cookie values, and the body's values (JSON strings, form fields, or the text itself)."""
    values = [value.decode("utf-8", "replace") for values in request.query_arguments.values() for value in values]
    for name in (token_header, *CREDENTIAL_HEADERS):
        for header in request.headers.get_list(name):
            values += [header, *header.split()]
    values += [morsel.value for morsel in request.cookies.values()]
    if body and len(body) <= MAX_SCANNED_BODY:
        values += list(_body_values(body, request.headers.get("Content-Type", "")))
    return values


def _body_values(body: bytes, content_type: str) -> Iterator[str]:
    text = body.decode("utf-8", "replace")
    if content_type.lower().startswith("application/x-www-form-urlencoded"):
        yield from (value for _, value in urllib.parse.parse_qsl(text, keep_blank_values=True))
        return
    try:
        found = list(_strings(json.loads(text)))
    except (ValueError, RecursionError):
        found = [text]  # not JSON (or absurdly deep): the text as a whole is what a message might quote
    yield from found


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
