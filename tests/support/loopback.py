"""Serving a test's fake of an outside service (SMS, CAPTCHA, Pwned Passwords) over HTTP on 127.0.0.1."""

from __future__ import annotations

import tornado.httpserver
import tornado.testing
import tornado.web


def serve(app: tornado.web.Application) -> tuple[tornado.httpserver.HTTPServer, str]:
    """Start `app` on a free loopback port of the running loop; returns the server (stop it) and its base URL."""
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets([sock])
    return server, f"http://127.0.0.1:{port}"
