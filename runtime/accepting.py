"""Accepting connections, with a pause while the process is out of file descriptors.

Tornado's accept handler lets `accept()` failing with EMFILE escape: the listening socket stays readable, so
the event loop calls the handler again at once, and again (one core at 100 %, an error logged each time),
while the connections that hold the descriptors wait for their turn on the same loop. Here such a failure takes
the socket off the loop for a moment (10 ms, doubling to 1 s, as Go's net/http does): the descriptors come back
as requests finish and slow connections time out (HTTP_*_TIMEOUT_SECONDS), and the clients waiting meanwhile
stay in the kernel's listen queue, to be accepted then, instead of being refused.
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from tornado.ioloop import IOLoop

log = logging.getLogger("auth.server")

# The process or the system is out of descriptors or of memory for sockets: it passes once some are released.
_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_FIRST_PAUSE, _LONGEST_PAUSE = 0.01, 1.0
_PER_WAKEUP = 128  # as Tornado: accept at most this many at once, so the loop serves the others in between


class Acceptor:
    """Accepts on one listening socket and hands each connection to `on_connection(connection, address)`."""

    def __init__(self, listening: socket.socket, on_connection: Callable[[socket.socket, Any], None]) -> None:
        self._socket = listening
        self._on_connection = on_connection
        self._loop = IOLoop.current()
        self._pause = _FIRST_PAUSE
        self._paused_since: float | None = None
        self._resume_handle: object | None = None
        self._stopped = False
        self._loop.add_handler(listening, self._accept, IOLoop.READ)

    def stop(self) -> None:
        """Take the socket off the loop for good (Tornado's `TCPServer.stop` calls this, then closes it)."""
        self._stopped = True
        if self._resume_handle is not None:
            self._loop.remove_timeout(self._resume_handle)
            self._resume_handle = None
        self._loop.remove_handler(self._socket)

    def _accept(self, fd: Any, events: int) -> None:
        for _ in range(_PER_WAKEUP):
            if self._stopped:
                return
            try:
                connection, address = self._socket.accept()
            except BlockingIOError:
                return  # every waiting connection is taken
            except ConnectionAbortedError:
                continue  # gone while it waited in the queue
            except OSError as exc:
                if exc.errno not in _EXHAUSTED:
                    raise
                self._back_off(exc)
                return
            if self._paused_since is not None:
                log.warning("accepting connections again after %.1f s without file descriptors",
                            time.monotonic() - self._paused_since)
                self._paused_since = None
            self._pause = _FIRST_PAUSE
            self._on_connection(connection, address)

    def _back_off(self, exc: OSError) -> None:
        if self._paused_since is None:  # one line per episode, not one per attempt
            self._paused_since = time.monotonic()
            log.warning("out of file descriptors (%s): new connections wait in the listen queue until open ones "
                        "finish or time out; raise the limit (ulimit -n, LimitNOFILE) if this lasts",
                        errno.errorcode.get(exc.errno or 0, exc))
        self._loop.remove_handler(self._socket)
        self._resume_handle = self._loop.call_later(self._pause, self._resume)
        self._pause = min(_LONGEST_PAUSE, self._pause * 2)

    def _resume(self) -> None:
        self._resume_handle = None
        if not self._stopped:
            self._loop.add_handler(self._socket, self._accept, IOLoop.READ)
