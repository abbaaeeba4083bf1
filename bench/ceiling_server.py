"""The "ceiling" for GET /user: a bare Tornado app that only verifies an RS256 JWT and answers small JSON.

No store, no token cache, no security headers: one PyJWT `decode` per request with a public key object parsed
once at start. Whatever our server does beyond this shows up as the gap between the two in bench_user.py.

    python bench/ceiling_server.py --port 9001 --public-key keys/<kid>.pub [--mode verify|bare]

`--mode bare` skips the verification too (a handler returning JSON), the other reference line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import jwt
import tornado.httpserver
import tornado.web
from cryptography.hazmat.primitives import serialization


class VerifyHandler(tornado.web.RequestHandler):
    def initialize(self, key: Any, header: str, audience: str, issuer: str) -> None:
        self.key, self.header, self.audience, self.issuer = key, header, audience, issuer

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        scheme, _, token = (self.request.headers.get(self.header) or "").partition(" ")
        try:
            if scheme != "Bearer":
                raise jwt.InvalidTokenError("no bearer token")
            claims = jwt.decode(token, self.key, algorithms=["RS256"], audience=self.audience, issuer=self.issuer)
        except jwt.PyJWTError:
            self.set_status(401)
            self.finish('{"status":"error"}')
            return
        self.finish(json.dumps({"status": "success", "uid": claims["sub"]}, separators=(",", ":")))


class BareHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"status": "success", "uid": "0"}, separators=(",", ":")))


async def serve(args: argparse.Namespace, key: Any) -> None:
    if args.mode == "verify":
        route: tuple[Any, ...] = (r"/user", VerifyHandler,
                                  {"key": key, "header": args.header, "audience": args.audience,
                                   "issuer": args.issuer})
    else:
        route = (r"/user", BareHandler)
    # No access log at all: the ceiling is the cost of the work, nothing else.
    await serve_until_signalled(tornado.web.Application([route], log_function=lambda handler: None), args.port)


async def serve_until_signalled(app: tornado.web.Application, port: int) -> None:
    """Serve on 127.0.0.1 until SIGTERM or SIGINT (the benchmarks stop their servers so)."""
    server = tornado.httpserver.HTTPServer(app)
    server.listen(port, "127.0.0.1")
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", choices=("verify", "bare"), default="verify")
    parser.add_argument("--public-key", help="PEM file of the RSA public key (mode verify)")
    parser.add_argument("--header", default="python-auth")
    parser.add_argument("--audience", default="python-jwt-auth")
    parser.add_argument("--issuer", default="localhost")
    args = parser.parse_args()
    if args.mode == "verify" and not args.public_key:
        parser.error("--public-key is required with --mode verify")
    key = serialization.load_pem_public_key(Path(args.public_key).read_bytes()) if args.public_key else None
    asyncio.run(serve(args, key))  # the key object is parsed once, here, and kept


if __name__ == "__main__":
    main()
