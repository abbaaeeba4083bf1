"""Small resource apps, one per framework, each guarded by jwt_auth_client as the team's own APIs would be: Tornado
on the test's own IOLoop, FastAPI served by uvicorn and Flask served by werkzeug, each in a thread of its own with
its own event loop or threads, all on real loopback ports, all talking to the auth server over HTTP and to its
Redis over TCP. Each app has the same four routes: `/resource` (any live token), `/fresh`, `/admin` (role
`admin`) and `/mfa` (aal2)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import tornado.httpserver
import tornado.testing
import tornado.web
import uvicorn
from fastapi import Depends, FastAPI
from flask import Flask, g
from jwt_auth_client import (
    AsyncGuard,
    AsyncIntrospectionRevocation,
    AsyncRedisRevocation,
    Guard,
    IntrospectionRevocation,
    RedisRevocation,
    TokenVerifier,
    VerifiedToken,
    require_aal,
    require_fresh,
    require_role,
)
from jwt_auth_client import flask as flask_integration
from jwt_auth_client import starlette as starlette_integration
from jwt_auth_client import tornado as tornado_integration
from werkzeug.serving import make_server

FRAMEWORKS = ("tornado", "fastapi", "flask")
MODES = ("redis", "introspection")
INTROSPECTION_KEY = "resource-server-key-" + "x" * 24
REQUIREMENTS = {"/resource": (), "/fresh": (require_fresh(),), "/admin": (require_role("admin"),),
                "/mfa": (require_aal("aal2"),)}


@dataclass(frozen=True)
class AuthServer:
    """What a resource app is configured with: where the auth server and its Redis are, and how tokens look."""

    url: str
    redis_url: str
    issuer: str
    audience: str

    def verifier(self) -> TokenVerifier:
        return TokenVerifier(self.issuer, self.audience, f"{self.url}/.well-known/jwks.json")


def revocation(server: AuthServer, mode: str, asyncio_app: bool) -> Any:
    """The check of `mode` (redis, introspection, or none for "jwt"), for an asyncio or a threaded app."""
    if mode == "redis":
        return (AsyncRedisRevocation if asyncio_app else RedisRevocation).from_url(server.redis_url)
    if mode == "introspection":
        introspection = AsyncIntrospectionRevocation if asyncio_app else IntrospectionRevocation
        return introspection(f"{server.url}/oauth/introspect", INTROSPECTION_KEY)
    return None


def async_guard(server: AuthServer, mode: str) -> AsyncGuard:
    return AsyncGuard(server.verifier(), revocation=revocation(server, mode, asyncio_app=True))


def sync_guard(server: AuthServer, mode: str) -> Guard:
    return Guard(server.verifier(), revocation=revocation(server, mode, asyncio_app=False))


def answer(token: VerifiedToken) -> dict[str, Any]:
    return {"uid": token.subject, "sid": token.session_id}


@dataclass
class ResourceApp:
    framework: str
    mode: str
    url: str = ""
    _stop: Callable[[], Any] = field(default=lambda: None, repr=False)

    async def stop(self) -> None:
        result = self._stop()
        if asyncio.iscoroutine(result):
            await result


# --- Tornado: the decorator on three routes, the mixin on the fourth ------------------------------------


def tornado_app(server: AuthServer, mode: str) -> ResourceApp:
    guard = async_guard(server, mode)

    def guarded(path: str) -> type[tornado.web.RequestHandler]:
        class Guarded(tornado.web.RequestHandler):
            @tornado_integration.authenticated(guard, *REQUIREMENTS[path])
            async def get(self) -> None:
                self.write(answer(self.token))  # type: ignore[attr-defined]

        return Guarded

    class Admin(tornado_integration.TokenRequired, tornado.web.RequestHandler):
        requirements = REQUIREMENTS["/admin"]

        def get(self) -> None:
            self.write(answer(self.token))

    Admin.guard = guard
    routes = [(path, guarded(path)) for path in REQUIREMENTS if path != "/admin"] + [("/admin", Admin)]
    sock, port = tornado.testing.bind_unused_port()
    http = tornado.httpserver.HTTPServer(tornado.web.Application(routes))
    http.add_sockets([sock])

    async def stop() -> None:
        http.stop()
        if guard.revocation is not None:
            await guard.revocation.aclose()  # type: ignore[union-attr]

    return ResourceApp("tornado", mode, f"http://127.0.0.1:{port}", stop)


# --- FastAPI on uvicorn, in a thread with its own event loop ---------------------------------------------


def fastapi_app(server: AuthServer, mode: str) -> ResourceApp:
    guard = async_guard(server, mode)
    app = FastAPI()
    starlette_integration.install(app)
    for path, requirements in REQUIREMENTS.items():
        dependency = starlette_integration.TokenAuth(guard, *requirements)

        async def endpoint(token: VerifiedToken = Depends(dependency)) -> dict[str, Any]:  # noqa: B008
            return answer(token)

        app.get(path)(endpoint)
    if guard.revocation is not None:
        app.router.on_shutdown.append(guard.revocation.aclose)  # type: ignore[union-attr]
    sock, port = tornado.testing.bind_unused_port()
    sock.close()
    uvicorn_server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uvicorn_server.run, name="fastapi-resource-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the FastAPI resource app did not start")
        time.sleep(0.01)

    def stop() -> None:
        uvicorn_server.should_exit = True
        thread.join(10)

    return ResourceApp("fastapi", mode, f"http://127.0.0.1:{port}", stop)


# --- Flask on werkzeug, a thread per request --------------------------------------------------------------


def flask_app(server: AuthServer, mode: str) -> ResourceApp:
    guard = sync_guard(server, mode)
    app = Flask("resource-app")
    for path, requirements in REQUIREMENTS.items():
        def view() -> dict[str, Any]:
            return answer(g.token)

        app.add_url_rule(path, path, flask_integration.token_required(guard, *requirements)(view))
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="flask-resource-app", daemon=True)
    thread.start()

    def stop() -> None:
        http.shutdown()
        thread.join(10)
        if guard.revocation is not None:
            guard.revocation.close()  # type: ignore[union-attr]

    return ResourceApp("flask", mode, f"http://127.0.0.1:{http.server_port}", stop)


STARTERS: dict[str, Callable[[AuthServer, str], ResourceApp]] = {
    "tornado": tornado_app, "fastapi": fastapi_app, "flask": flask_app}
