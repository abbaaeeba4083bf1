"""The HTTP server, with a graceful stop: requests in flight finish, idle keep-alive connections close.

`HTTPServer.close_all_connections()` alone closes every connection at once, cutting off a request whose
body is still arriving or whose answer is being computed. Here each connection is known to be busy from
its request's headers until the next request starts on it (Tornado only starts one after the answer is
written), so `drain()` can close the idle ones at once and wait for the busy ones.

Slow clients are timed out (issue 12, item 17): Tornado has one deadline for a request's headers, counted from
when the connection starts waiting for it, which it calls the idle timeout. Here a connection's first request
gets HTTP_HEADER_TIMEOUT_SECONDS (a new connection has no reason to wait: Slowloris does) and later ones, on a
kept-alive connection, HTTP_IDLE_TIMEOUT_SECONDS; a body gets HTTP_BODY_TIMEOUT_SECONDS. Accepting pauses while
the process is out of file descriptors (runtime/accepting.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import socket
import typing
from collections.abc import Callable, Iterable
from typing import Any

import tornado.httpserver
from tornado import httputil
from tornado.http1connection import HTTP1Connection, HTTP1ServerConnection

from runtime.accepting import Acceptor

log = logging.getLogger("auth.server")


class DrainingHTTPServer(tornado.httpserver.HTTPServer):
    def initialize(self, *args: Any, in_flight: Callable[[int], None] = lambda count: None,
                   header_timeout: float = 3600.0, idle_timeout: float = 3600.0, **kwargs: Any) -> None:
        """`in_flight(count)` is told the number of requests being read or answered whenever it changes."""
        super().initialize(*args, idle_connection_timeout=idle_timeout, **kwargs)
        # The first request of a connection reads its headers under these; later ones under `conn_params`.
        self._first_request_params = copy.copy(self.conn_params)
        self._first_request_params.header_timeout = header_timeout
        self._answered: set[object] = set()  # connections whose first request has started
        self._in_flight = in_flight
        self._busy: dict[object, httputil.HTTPConnection] = {}
        self._idle_again = asyncio.Event()
        self.draining = False

    async def drain(self, seconds: float) -> None:
        """Call after `stop()`: let requests in flight finish for up to `seconds`, then close everything."""
        self.draining = True
        # Requests read from now on are answered with `Connection: close` (HTTP1Connection reads this per request).
        self.conn_params.no_keep_alive = self._first_request_params.no_keep_alive = True
        for request_conn in self._busy.values():
            _close_after_answer(request_conn)
        for server_conn in [conn for conn in self._connections if conn not in self._busy]:
            await server_conn.close()  # idle: waiting for a next request that must go elsewhere
        if self._busy:
            log.info("waiting for %d request(s) in flight (at most %.0f s)", len(self._busy), seconds)
            self._idle_again.clear()
            try:
                async with asyncio.timeout(seconds):
                    await self._idle_again.wait()
            except TimeoutError:
                log.warning("%d request(s) still in flight after %.0f s: closing their connections",
                            len(self._busy), seconds)
        await self.close_all_connections()

    # --- HTTPServerConnectionDelegate ---------------------------------------------------------------

    def add_sockets(self, sockets: Iterable[socket.socket]) -> None:
        for listening in sockets:
            self._sockets[listening.fileno()] = listening
            self._handlers[listening.fileno()] = Acceptor(listening, self._handle_connection).stop

    def start_request(self, server_conn: object, request_conn: httputil.HTTPConnection) -> httputil.HTTPMessageDelegate:
        # A new request on a connection means its previous one is answered in full.
        self._request_done(server_conn)
        if server_conn not in self._answered and isinstance(request_conn, HTTP1Connection):
            self._answered.add(server_conn)
            request_conn.params = self._first_request_params  # read when it starts waiting for the headers
        if self.draining:
            typing.cast(HTTP1ServerConnection, server_conn).stream.close()
        return _TrackedRequest(super().start_request(server_conn, request_conn), self, server_conn, request_conn)

    def on_close(self, server_conn: object) -> None:
        self._answered.discard(server_conn)
        self._request_done(server_conn)
        super().on_close(server_conn)

    def _request_started(self, server_conn: object, request_conn: httputil.HTTPConnection) -> None:
        self._busy[server_conn] = request_conn
        self._in_flight(len(self._busy))

    def _request_done(self, server_conn: object) -> None:
        if self._busy.pop(server_conn, None) is not None:
            self._in_flight(len(self._busy))
            if not self._busy:
                self._idle_again.set()


class _TrackedRequest(httputil.HTTPMessageDelegate):
    """Passes everything on; marks the connection busy once a request's headers have arrived."""

    def __init__(self, delegate: httputil.HTTPMessageDelegate, server: DrainingHTTPServer, server_conn: object,
                 request_conn: httputil.HTTPConnection) -> None:
        self._delegate = delegate
        self._server = server
        self._server_conn = server_conn
        self._request_conn = request_conn

    def headers_received(self, start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
                         headers: httputil.HTTPHeaders) -> typing.Awaitable[None] | None:
        self._server._request_started(self._server_conn, self._request_conn)
        return self._delegate.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> typing.Awaitable[None] | None:
        return self._delegate.data_received(chunk)

    def finish(self) -> None:
        self._delegate.finish()

    def on_connection_close(self) -> None:
        self._delegate.on_connection_close()


def _close_after_answer(request_conn: httputil.HTTPConnection) -> None:
    """A request read before draining began: its answer says `Connection: close`, then the connection closes.

    Tornado keeps this per-request decision in a private attribute (6.x); without it, the connection is
    still closed when its next request starts, only without the header.
    """
    if isinstance(request_conn, HTTP1Connection) and hasattr(request_conn, "_disconnect_on_finish"):
        request_conn._disconnect_on_finish = True
