"""SIGTERM with requests in flight: they finish (up to SHUTDOWN_TIMEOUT_SECONDS), nobody new gets in, exit 0.

A login whose JSON body is still arriving when the signal comes is a request really in flight: the
server has its headers and waits for the rest, which the test sends only after the SIGTERM.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.api import PASSWORD
from support.processes import Server, half_sent, read_all, refuses_connections, start_server, wait_for

LOGIN = json.dumps({"email": "omar@quazi.co", "password": PASSWORD}).encode()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def launch(**settings: str) -> Server:
        started.append(start_server(tmp_path, **settings))
        return started[-1]

    yield launch
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def half_sent_login(server: Server) -> socket.socket:
    """A login whose headers and first 10 bytes of body have reached the server; the rest is up to the test."""
    return half_sent(server.port, "/login", LOGIN)


def idle_keep_alive_connection(server: Server) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert client.recv(65536).startswith(b"HTTP/1.1 200")
    return client


def test_a_request_in_flight_gets_its_whole_answer_and_new_connections_are_refused(
        launch: Callable[..., Server]) -> None:
    server = launch(SHUTDOWN_TIMEOUT_SECONDS="10")
    assert server.call("POST", "/signup", {"name": "Omar", "email": "omar@quazi.co", "password": PASSWORD})[0] == 200
    idle = idle_keep_alive_connection(server)
    in_flight = half_sent_login(server)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: refuses_connections(server.port))
    assert idle.recv(1) == b"", "an idle keep-alive connection is closed at once"
    assert server.process.poll() is None, "the server waits for the login in flight"

    in_flight.sendall(LOGIN[10:])
    head, _, body = read_all(in_flight).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK"), head
    assert b"\r\nConnection: close" in head
    assert json.loads(body.split(b"\r\n")[1] if b"Transfer-Encoding: chunked" in head else body)[
        "tokens"]["access_token"].count(".") == 2
    assert server.process.wait(timeout=10) == 0, server.stderr
    assert time.monotonic() - signalled < 10
    assert "Traceback" not in server.stderr


def test_a_request_outliving_the_shutdown_timeout_is_cut_and_the_server_still_exits_0(
        launch: Callable[..., Server]) -> None:
    server = launch(SHUTDOWN_TIMEOUT_SECONDS="1")
    stuck = half_sent_login(server)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0, server.stderr
    took = time.monotonic() - signalled
    assert 1 <= took < 5, took
    assert read_all(stuck) == b"", "the connection is closed without an answer"
    assert "1 request(s) still in flight after 1 s" in server.stderr


def test_during_the_shutdown_delay_readyz_is_503_and_everything_else_is_served(
        launch: Callable[..., Server]) -> None:
    server = launch(SHUTDOWN_DELAY_SECONDS="3", SHUTDOWN_TIMEOUT_SECONDS="5")
    kept_alive = idle_keep_alive_connection(server)
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "/readyz answers 503" in server.stderr)

    status, body = server.call("GET", "/readyz")
    assert status == 503, body
    assert (body["code"], body["checks"]["draining"]) == ("auth/not-ready", "draining")
    assert server.call("GET", "/healthz") == (200, {"status": "ok"}), "a new connection is still served"
    assert server.call("POST", "/signup", {"name": "Omar", "email": "omar@quazi.co", "password": PASSWORD})[0] == 200
    kept_alive.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head = kept_alive.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert b"Connection: close" not in head, "keep-alive goes on during the delay"

    while not refuses_connections(server.port):
        assert time.monotonic() - signalled < 6, "the listener should close once the delay is over"
        time.sleep(0.1)
    assert time.monotonic() - signalled >= 3, "the listener closed before SHUTDOWN_DELAY_SECONDS"
    assert kept_alive.recv(1) == b"", "after the delay an idle keep-alive connection is closed"
    assert server.process.wait(timeout=10) == 0, server.stderr
    assert "still serving for 3 s" in server.stderr
    assert "Traceback" not in server.stderr


def test_a_second_sigterm_skips_the_rest_of_the_delay(launch: Callable[..., Server]) -> None:
    server = launch(SHUTDOWN_DELAY_SECONDS="60")
    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "/readyz answers 503" in server.stderr)
    assert server.call("GET", "/readyz")[0] == 503
    assert server.call("GET", "/healthz")[0] == 200
    signalled_again = time.monotonic()
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=10) == 0, server.stderr
    assert time.monotonic() - signalled_again < 5
    assert "skipping the rest of SHUTDOWN_DELAY_SECONDS" in server.stderr
