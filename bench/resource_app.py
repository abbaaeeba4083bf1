"""A resource server as the team's own API would be: one Tornado endpoint, `GET /resource`, guarded by
jwt_auth_client in one of three checks, for bench/bench_resource.py.

    python bench/resource_app.py --port 9101 --mode jwt|redis|introspection --auth-url http://127.0.0.1:8080 \
        --redis-url redis://127.0.0.1:6379/0 --introspection-key KEY [--issuer localhost] [--audience ...]

- `jwt`: signature and claims only (JWKS fetched once, each token verified once and then remembered);
- `redis`: the same, plus the revocation state read from the auth server's Redis (one MGET per request);
- `introspection`: the same, plus `POST /oauth/introspect` to the auth server on every request (no cache).

No access log, as the ceiling server: what is measured is the check, not logging.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import tornado.web
from ceiling_server import serve_until_signalled

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "client"))  # also without `pip install ./client`

from jwt_auth_client import (
    AsyncGuard,
    AsyncIntrospectionRevocation,
    AsyncRedisRevocation,
    TokenVerifier,
)
from jwt_auth_client.tornado import authenticated


def build(args: argparse.Namespace) -> tornado.web.Application:
    verifier = TokenVerifier(args.issuer, args.audience, f"{args.auth_url}/.well-known/jwks.json")
    revocation: Any = None
    if args.mode == "redis":
        revocation = AsyncRedisRevocation.from_url(args.redis_url)
    elif args.mode == "introspection":
        revocation = AsyncIntrospectionRevocation(f"{args.auth_url}/oauth/introspect", args.introspection_key)
    guard = AsyncGuard(verifier, revocation=revocation)

    class Resource(tornado.web.RequestHandler):
        @authenticated(guard)
        async def get(self) -> None:
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"status": "success", "uid": self.token.subject}, separators=(",", ":")))  # type: ignore[attr-defined]

    return tornado.web.Application([(r"/resource", Resource)], log_function=lambda handler: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("jwt", "redis", "introspection"), required=True)
    parser.add_argument("--auth-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--introspection-key", default="")
    parser.add_argument("--issuer", default="localhost")
    parser.add_argument("--audience", default="python-jwt-auth")
    args = parser.parse_args()
    asyncio.run(serve_until_signalled(build(args), args.port))


if __name__ == "__main__":
    main()
