"""Fixtures for the library's own tests: keys, a JWK Set served over HTTP on loopback (it counts its fetches and
can fail on demand), tokens shaped exactly like the auth server's, and a fake introspection endpoint.

These tests need neither the auth server nor Redis: tests/resource_servers/ in the repository runs the library
against the real server, its real Redis keys and real Tornado, Starlette/FastAPI and Flask apps.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import get_default_algorithms

ISSUER = "https://auth.example.test"
AUDIENCE = "python-jwt-auth"


@dataclass
class Key:
    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        exported = get_default_algorithms()[self.alg].to_jwk(self.private.public_key(), as_dict=True)
        return {**exported, "kid": self.kid, "alg": self.alg, "use": "sig"}


@pytest.fixture(scope="session")
def rsa_key() -> Key:
    return Key("rsa-key-1", "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@pytest.fixture(scope="session")
def ec_key() -> Key:
    return Key("ec-key-1", "ES256", ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="session")
def ed_key() -> Key:
    return Key("ed-key-1", "EdDSA", ed25519.Ed25519PrivateKey.generate())


def sign(key: Key, claims: dict[str, Any] | None = None, headers: dict[str, Any] | None = None,
         drop: tuple[str, ...] = ()) -> str:
    """An access token as the auth server issues it (services/tokens/service.py), with any claim changed."""
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now, "nbf": now, "exp": now + 900, "iss": ISSUER, "aud": AUDIENCE,
                               "sub": str(uuid.uuid4()), "jti": str(uuid.uuid4()), "sid": uuid.uuid4().hex,
                               "epoch": 0, "data": {"type": "access_token", "fresh": False}}
    payload.update(claims or {})
    for name in drop:
        payload.pop(name, None)
    all_headers = {"kid": key.kid, "typ": "at+jwt", **(headers or {})}
    return jwt.encode(payload, key.private, algorithm=key.alg, headers=all_headers)


@pytest.fixture
def issue(rsa_key: Key) -> Callable[..., str]:
    """`issue(claims?, headers?, key=?, drop=?)`: a signed token (the RSA key unless another is named)."""

    def make(claims: dict[str, Any] | None = None, headers: dict[str, Any] | None = None, key: Key | None = None,
             drop: tuple[str, ...] = ()) -> str:
        return sign(key or rsa_key, claims, headers, drop)

    return make


@dataclass
class LocalEndpoint:
    """One JSON endpoint on 127.0.0.1: what it answers is set by the test; it counts the requests."""

    status: int = 200
    document: Any = None
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def answer(self, request: dict[str, Any]) -> tuple[int, bytes]:
        self.requests.append(request)
        if self.delay:
            time.sleep(self.delay)
        body = self.document(request) if callable(self.document) else self.document
        return self.status, json.dumps(body).encode()


def serve(endpoint: LocalEndpoint) -> Iterator[LocalEndpoint]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = {"method": self.command, "path": self.path, "headers": dict(self.headers),
                       "body": self.rfile.read(length).decode()}
            status, body = endpoint.answer(request)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint.url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def jwks_endpoint(rsa_key: Key, ec_key: Key, ed_key: Key) -> Iterator[LocalEndpoint]:
    """The auth server's `/.well-known/jwks.json`, holding the three keys until a test changes `document`."""
    yield from serve(LocalEndpoint(document={"keys": [rsa_key.jwk(), ec_key.jwk(), ed_key.jwk()]}))


@pytest.fixture
def introspection_endpoint() -> Iterator[LocalEndpoint]:
    """A stand-in for `POST /oauth/introspect`: answers `{"active": false}` until a test says otherwise."""
    yield from serve(LocalEndpoint(document={"active": False}))
