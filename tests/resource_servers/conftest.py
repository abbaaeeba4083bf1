"""Fixtures of the resource server tests: the auth server with an introspection key, and the resource apps of
tests/support/resource_apps.py started against it (every framework in every mode, or the ones a test names)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from support.resource_apps import INTROSPECTION_KEY, STARTERS, AuthServer, ResourceApp

from services.config import Config


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Resource servers may introspect with INTROSPECTION_KEY; `with_settings` adds to it."""
    return {"introspection_keys": [INTROSPECTION_KEY], **getattr(request, "param", {})}


@pytest.fixture
def auth_server(http_server: Any, http_port: int, config: Config) -> AuthServer:
    """The in-process auth server (pytest-tornado's), as a resource app is told about it."""
    return AuthServer(url=f"http://127.0.0.1:{http_port}", redis_url=config.redis_url, issuer=config.jwt_issuer,
                      audience=config.jwt_audience)


@pytest.fixture
def start_resource_app(auth_server: AuthServer, io_loop: Any) -> Iterator[Callable[[str, str], ResourceApp]]:
    """`start_resource_app(framework, mode)`: a running resource app, stopped at the end of the test."""
    started: list[ResourceApp] = []

    def start(framework: str, mode: str) -> ResourceApp:
        app = STARTERS[framework](auth_server, mode)
        started.append(app)
        return app

    yield start
    for app in started:
        io_loop.run_sync(app.stop)
