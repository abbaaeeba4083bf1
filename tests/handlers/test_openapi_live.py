"""A live server answers as docs/openapi.yaml says, twice over: every documented success once, by hand, and
schemathesis fuzzing every operation with generated requests (`server.py serve`, the real process)."""


from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from support.api import PASSWORD, Response
from support.openapi import assert_documented
from support.processes import free_port, stop_server

from services.config import setting_names

ROOT = Path(__file__).resolve().parents[2]


CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance",
])
# Operations that end the caller's session or change its credentials: fuzzed last, with their own token,
# so the first success among them does not leave every other operation answering 401.
DESTRUCTIVE = ("changeUser", "endSession", "logout", "logoutEverywhere", "deleteUser")
# Bodies schemathesis has no serializer for (application/x-ndjson); tests/admin/test_import.py covers it.
UNSERIALIZABLE = ("adminImportUsers",)


# --- a live server ---------------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str
    log: Path

    def call(self, method: str, path: str, json_body: Any = None, token: str | None = None,
             raw: bytes | None = None) -> Response:
        headers = {"python-auth": f"Bearer {token}"} if token else {}
        data = raw if json_body is None else json.dumps(json_body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our own http:// URL)
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def checked(self, method: str, path: str, template: str | None = None, status: int = 200,
                **kwargs: Any) -> dict[str, Any]:
        """Call, expect `status`, and hold the answer against the document (under `template` if templated)."""
        answer = self.call(method, path, **kwargs)
        assert answer.status == status, f"{method} {path}: {answer.status} {answer.body[:300]!r}"
        return assert_documented(template or path.partition("?")[0], method.lower(), answer.status,
                                 answer.headers, answer.body)

    def login(self, email: str, fresh: bool = False, password: str = PASSWORD) -> dict[str, str]:
        return self.checked("POST", "/login", json_body={"email": email, "password": password,
                                                         "fresh_token": fresh})["tokens"]

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`server.py serve` as deployed, on the embedded stores, with limits no fuzzer reaches; always stopped."""
    folder = tmp_path_factory.mktemp("live")
    port = free_port()
    # The defaults of config.yaml, whatever this shell exports, but for the folders, cost and limits.
    inherited = {name: value for name, value in os.environ.items()
                 if name not in setting_names() and name != "AUTH_CONFIG"}
    env = {**inherited, "JWT_KEYS": str(folder / "keys"), "DATA_DIR": str(folder / "data"), "BCRYPT_COST": "4",
           "UPLOAD_FOLDER": str(folder / "uploads"),
           "RATE_LIMIT_SIGNUP": "100000/1m", "RATE_LIMIT_TOKEN": "100000/1m",
           "RATE_LIMIT_LOGIN_FAILURES": "100000/1m"}
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "server.py", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    server = LiveServer(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, f"the server exited with {process.returncode}:\n{server.log_tail()}"
            assert time.monotonic() < deadline, f"the server did not answer GET / in 20 s:\n{server.log_tail()}"
            try:
                if server.call("GET", "/").status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        stop_server(process)


def test_every_success_on_a_live_server_is_as_documented(live_server: LiveServer) -> None:
    server = live_server
    for path in ("/", "/settings", "/settings/keys", "/.well-known/jwks.json", "/openapi.json"):
        server.checked("GET", path)

    email = "documented@example.com"
    signup = {"name": "Omar Quazi", "email": email, "password": PASSWORD}
    server.checked("POST", "/signup", json_body=signup)
    server.checked("POST", "/signup", json_body=signup, status=409)
    tokens = server.login(email)
    refreshed = server.checked("GET", f"/refresh?token={tokens['refresh_token']}")
    refreshed = server.checked("GET", "/refresh", json_body={"token": refreshed["refresh_token"]})
    server.checked("POST", "/refresh", json_body={"token": refreshed["refresh_token"]})
    server.checked("POST", "/refresh", json_body={}, status=401)

    access = tokens["access_token"]
    server.checked("GET", "/user", token=access)
    assert server.checked("GET", "/user/identities", token=access)["identities"] == []
    server.checked("DELETE", "/user/identities/google", "/user/identities/{provider}", token=access, status=404)
    server.checked("POST", "/login/google", "/login/{provider}", json_body={"id_token": "x"}, status=404)
    server.checked("PATCH", "/user", json_body={"name": "Omar"}, token=access)
    server.checked("PATCH", "/user", json_body={"name": "Omar", "email": email}, token=access, status=400)
    other = server.login(email)
    sessions = server.checked("GET", "/user/sessions", token=access)["sessions"]
    assert sorted(session["current"] for session in sessions) == [False, True]
    other_id = next(session["id"] for session in sessions if not session["current"])
    template = "/user/sessions/{id}"
    server.checked("DELETE", f"/user/sessions/{other_id}", template, token=access)
    server.checked("DELETE", f"/user/sessions/{other_id}", template, token=access, status=404)
    server.checked("DELETE", "/user/sessions/not-a-session-id", template, token=access, status=404)
    server.checked("GET", "/user", token=other["access_token"], status=401)

    server.checked("PATCH", "/user", json_body={"password": "AnotherStrongPassword456@"}, token=access, status=401)
    fresh = server.login(email, fresh=True)["access_token"]
    changed = server.checked("PATCH", "/user", json_body={"password": PASSWORD + "!"}, token=fresh)
    server.checked("GET", "/user", token=fresh, status=401)
    pictures_on_a_live_server(server, changed["tokens"]["access_token"])
    watcher = server.login(email, password=PASSWORD + "!")["access_token"]  # a second session, kept
    server.checked("DELETE", "/user/email-change", token=watcher, status=404)
    server.checked("PATCH", "/user", json_body={"email": "moved@example.com"},
                   token=changed["tokens"]["access_token"])
    assert server.checked("GET", "/user/email-change", token=watcher)["email_change"]["email"] == "moved@example.com"
    server.checked("DELETE", "/user/email-change", token=watcher)
    assert server.checked("GET", "/user/email-change", token=watcher)["email_change"] is None
    server.checked("POST", "/email-change/confirm", json_body={"token": "made-up"}, status=400)
    server.checked("POST", "/email-change/cancel", json_body={}, status=400)

    moved = {"email": email, "password": PASSWORD + "!"}
    server.checked("POST", "/logout", token=server.checked("POST", "/login", json_body=moved)["tokens"]["access_token"])
    last = server.checked("POST", "/login", json_body=moved)["tokens"]["access_token"]
    server.checked("POST", "/logout/all", token=last)
    server.checked("GET", "/user/sessions", token=last, status=401)

    leaving = "leaving@example.com"
    server.checked("POST", "/signup", json_body={"name": "Leaving", "email": leaving, "password": PASSWORD})
    server.checked("DELETE", "/user", token=server.login(leaving)["access_token"], status=401)  # not fresh
    fresh = server.login(leaving, fresh=True)["access_token"]
    server.checked("DELETE", "/user", token=fresh)
    server.checked("GET", "/user/export", token=fresh, status=401)


def pictures_on_a_live_server(server: LiveServer, access: str) -> None:
    """The local store as deployed: upload, the picture served by the server itself, export, removal."""
    png = io.BytesIO()
    Image.new("RGB", (900, 300), "teal").save(png, format="PNG")
    url = server.checked("PUT", "/user/avatar", raw=png.getvalue(), token=access)["picture"]
    assert server.checked("GET", "/user", token=access)["picture"] == url
    served = server.call("GET", urllib.parse.urlsplit(url).path)
    assert served.status == 200 and served.headers["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(served.body)).size == (512, 171)
    server.checked("PUT", "/user/avatar", raw=b"not a picture", token=access, status=415)
    export = server.checked("GET", "/user/export", token=access)
    assert export["picture_url"] == url and "password_hash" not in export["user"]
    server.checked("DELETE", "/user/avatar", token=access)
    assert server.call("GET", urllib.parse.urlsplit(url).path).status == 404


def printed_link(server: LiveServer, page: str, uid: str, count: int = 1) -> str:
    """The token of the `count`-th `page` link for `uid` that the console mailer printed into the server's output."""
    deadline = time.monotonic() + 10
    while len(tokens := re.findall(rf"/{page}\?token=({uid}\.\S+)", server.log.read_text())) < count:
        assert time.monotonic() < deadline, f"no {page} link printed:\n{server.log_tail()}"
        time.sleep(0.05)
    return tokens[count - 1]


def test_mail_flows_on_a_live_server_are_as_documented(live_server: LiveServer) -> None:
    """Verification and reset, with the links MAIL_BACKEND=console prints."""
    server, email = live_server, "mailed@example.com"
    server.checked("POST", "/signup", json_body={"name": "Omar Quazi", "email": email, "password": PASSWORD})
    login = server.checked("POST", "/login", json_body={"email": email, "password": PASSWORD})
    access, uid = login["tokens"]["access_token"], login["uid"]
    server.checked("POST", "/verify/resend", json_body={"email": "nobody@example.com"})
    server.checked("POST", "/verify/resend", token=access)
    server.checked("POST", "/verify/resend", json_body={}, status=400)
    server.checked("POST", "/verify", json_body={"token": "made-up"}, status=400)
    verify = printed_link(server, "verify-email", uid, count=2)
    server.checked("POST", "/verify", json_body={"token": verify})
    server.checked("POST", "/verify", json_body={"token": verify}, status=410)
    server.checked("POST", "/verify/resend", token=access, status=401)  # the proof ended the sessions before it
    access = server.login(email)["access_token"]
    server.checked("POST", "/verify/resend", token=access)  # auth/email-already-verified
    server.checked("POST", "/password/forgot", json_body={"email": email})
    server.checked("POST", "/password/forgot", json_body={"email": "not an address"}, status=400)
    reset = printed_link(server, "reset-password", uid)
    server.checked("POST", "/password/reset", json_body={"token": reset, "password": "short"}, status=400)
    server.checked("POST", "/password/reset", json_body={"token": reset, "password": PASSWORD})
    server.checked("POST", "/password/reset", json_body={"token": reset, "password": PASSWORD}, status=410)
    server.checked("GET", "/static/nothing.css", "/static/{file}", status=404)
    server.checked("GET", "/user", token=access, status=401)  # the reset ended every session


def test_schemathesis_finds_nothing(live_server: LiveServer, tmp_path: Path) -> None:
    """Every operation, fuzzed: no 5xx, and every status, content type, body and header as documented."""
    email = "fuzzed@example.com"
    live_server.checked("POST", "/signup", json_body={"name": "Fuzzed", "email": email, "password": PASSWORD})
    # Our own token in our own header: schemathesis must not sign up and log in by itself.
    config = tmp_path / "schemathesis.toml"
    config.write_text("[auth]\nauto-signup = false\n")

    def fuzz(token: str, *selection: str) -> None:
        command = [
            str(Path(sys.executable).parent / "schemathesis"), "--config-file", str(config), "run",
            f"{live_server.url}/openapi.json", "--header", f"python-auth: Bearer {token}", "--checks", CHECKS,
            "--max-examples", "25", "--request-timeout", "10", "--generation-database", "none", "--no-color",
            *selection,
        ]
        # cwd: schemathesis may leave files behind; they belong in the test's own folder.
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
        assert run.returncode == 0, (f"{run.stdout[-12000:]}\n{run.stderr[-3000:]}\n"
                                     f"server log:\n{live_server.log_tail()}")

    fuzz(live_server.login(email)["access_token"],
         *(arg for operation_id in (*DESTRUCTIVE, *UNSERIALIZABLE) for arg in ("--exclude-operation-id", operation_id)))
    fuzz(live_server.login(email, fresh=True)["access_token"],
         *(arg for operation_id in (*DESTRUCTIVE, "listSessions") for arg in ("--include-operation-id", operation_id)))
