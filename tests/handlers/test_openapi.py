"""docs/openapi.yaml is the API: every route and code is in it, and a live server answers as it says.

The unit tests hold the document against the routes and services/errors.py. The live tests start the
real server (`server.py serve`) and check it against the document twice over: every documented success
once, by hand, and schemathesis fuzzing every operation with generated requests.
"""

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
from types import SimpleNamespace
from typing import Any

import jsonschema_rs
import pytest
import tornado.web
import yaml
from PIL import Image
from support.api import Response
from support.processes import free_port, stop_server

from handlers.application import AuthApplication
from services.config import load_config, setting_names
from services.outcomes import IDENTITY_LINKED, INTERNAL_ERROR, METHOD_NOT_ALLOWED, PROVIDER_DENIED, all_outcomes

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT: dict[str, Any] = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
HTTP_METHODS = ("get", "post", "patch", "put", "delete")
PASSWORD = "Myverystrongpassword123@"

# A bug and a wrong method are answered the same way everywhere; the document says so once, in words.
# Codes that only travel in the fragment of /callback's redirect are described there in words.
UNDOCUMENTED_CODES = {INTERNAL_ERROR.code, METHOD_NOT_ALLOWED.code, PROVIDER_DENIED.code, IDENTITY_LINKED.code}

CHECKS = ",".join([
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_schema_conformance", "response_headers_conformance",
])
# Operations that end the caller's session or change its credentials: fuzzed last, with their own token,
# so the first success among them does not leave every other operation answering 401.
DESTRUCTIVE = ("changeUser", "endSession", "logout", "logoutEverywhere", "deleteUser")


# --- the document itself --------------------------------------------------------------------------------


def resolved(node: Any) -> Any:
    """`node` with every local `$ref` replaced by what it points to (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = DOCUMENT
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolved(target)
        return {key: resolved(value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(item) for item in node]
    return node


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in DOCUMENT["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, resolved(item[method])


def codes_in(schema: Any) -> set[str]:
    """Every `code` value a (resolved) response schema allows, through allOf/oneOf."""
    found: set[str] = set()
    if isinstance(schema, dict):
        code = schema.get("properties", {}).get("code", {})
        found.update(code.get("enum", []))
        if "const" in code:
            found.add(code["const"])
        for value in schema.values():
            found |= codes_in(value)
    elif isinstance(schema, list):
        for item in schema:
            found |= codes_in(item)
    return found


def documented_codes() -> dict[str, set[str]]:
    """status -> codes, over every operation."""
    by_status: dict[str, set[str]] = {}
    for _, _, operation in operations():
        for status, response in operation["responses"].items():
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            by_status.setdefault(status, set()).update(codes_in(schema))
    return by_status


def app_routes() -> list[tornado.web.Rule]:
    # The routes need only the config: no store is touched until a request comes.
    app = AuthApplication(SimpleNamespace(config=load_config(None, environ={})))  # type: ignore[arg-type]
    return list(app.wildcard_router.rules)


def sample_path(path: str) -> str:
    """A concrete address for a templated path, from each path parameter's example."""
    item = DOCUMENT["paths"][path]
    for method in HTTP_METHODS:
        for parameter in resolved(item.get(method, {}).get("parameters", [])):
            if parameter["in"] == "path":
                path = path.replace("{" + parameter["name"] + "}", str(parameter["example"]))
    return path


def implemented_methods(handler: type) -> set[str]:
    return {method for method in HTTP_METHODS
            if getattr(handler, method) is not getattr(tornado.web.RequestHandler, method)}


def test_every_route_is_documented_with_its_methods() -> None:
    for rule in app_routes():
        matches = [path for path in DOCUMENT["paths"] if rule.matcher.regex.fullmatch(sample_path(path))]
        assert len(matches) == 1, f"route {rule.matcher.regex.pattern} is documented as {matches}"
        documented = {method for method in HTTP_METHODS if method in DOCUMENT["paths"][matches[0]]}
        assert documented == implemented_methods(rule.target), matches[0]


def test_every_documented_path_is_a_route() -> None:
    routes = app_routes()
    for path in DOCUMENT["paths"]:
        matching = [rule for rule in routes if rule.matcher.regex.fullmatch(sample_path(path))]
        assert len(matching) == 1, f"{path} matches {len(matching)} routes"
        for _, _, operation in (op for op in operations() if op[0] == path):
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":  # the same pattern as the route's group, so no id is lost to a 404
                    pattern = parameter["schema"]["pattern"].removeprefix("^").removesuffix("$")
                    assert f"({pattern})" in matching[0].matcher.regex.pattern, path


def test_every_code_an_endpoint_can_answer_is_documented() -> None:
    documented = set().union(*documented_codes().values())
    known = {outcome.code for outcome in all_outcomes()}
    assert not documented - known, f"codes in the document but not in services/errors.py: {documented - known}"
    missing = known - UNDOCUMENTED_CODES - documented
    assert not missing, f"codes missing from docs/openapi.yaml: {sorted(missing)}"


def test_every_code_is_documented_under_its_own_status() -> None:
    status_of = {outcome.code: outcome.status for outcome in all_outcomes()}
    for status, codes in documented_codes().items():
        wrong = {code for code in codes if status_of[code] != int(status)}
        assert not wrong, f"under {status}: {wrong}"


def test_every_operation_documents_its_errors_and_authentication() -> None:
    for path, method, operation in operations():
        responses = operation["responses"]
        assert ("200" in responses or "302" in responses) and "413" in responses, (method, path)
        authenticated = {"tokenHeader": []} in operation.get("security", []) and {} not in operation["security"]
        if authenticated:
            assert {"401", "503"} <= set(responses), (method, path)
        if path in ("/signup", "/login", "/refresh", "/login/{provider}", "/authorize/{provider}",
                    "/callback/{provider}"):  # the rate-limited ones
            assert {"429", "503"} <= set(responses), (method, path)


def test_the_document_is_valid_openapi() -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(DOCUMENT)
    schema.validate()  # against the OpenAPI 3.1 meta-schema
    loaded = [result.ok() for result in schema.get_all_operations()]  # an Err has no ok(): a broken operation
    assert len(loaded) == sum(1 for _ in operations())


# --- checking a response against the document -----------------------------------------------------------


def assert_documented(path: str, method: str, status: int, headers: Any, body: bytes) -> dict[str, Any]:
    """The answer is one the document describes: status, JSON body schema and required headers."""
    operation = resolved(DOCUMENT["paths"][path][method])
    response = operation["responses"].get(str(status))
    assert response is not None, f"{method.upper()} {path} answered an undocumented {status}: {body[:300]!r}"
    data = json.loads(body)
    schema = response["content"]["application/json"]["schema"]
    errors = [error.message for error in jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
              .iter_errors(data)]
    assert not errors, f"{method.upper()} {path} {status}: {errors} in {data}"
    for name, header in response.get("headers", {}).items():
        value = headers.get(name)
        if not header.get("required"):
            continue
        assert value is not None, f"{method.upper()} {path} {status} lacks {name}"
        typed = int(value) if header["schema"].get("type") == "integer" else value
        assert jsonschema_rs.Draft202012Validator(header["schema"]).is_valid(typed), (name, value)
    return data


# --- the document as served ------------------------------------------------------------------------------


@pytest.fixture
def settings() -> dict[str, Any]:
    """This module's in-process server: its own header and password policy, and limits a test can reach."""
    return {"jwt_header_name": "x-auth-token", "password_min_length": 12, "rate_limit_signup": "1/1m",
            "max_content_length": 2048}


@pytest.mark.gen_test
async def test_the_served_document_speaks_for_this_server(api: Any) -> None:
    response = await api.get("/openapi.json")
    served = assert_documented("/openapi.json", "get", response.status, response.headers, response.body)
    assert served["components"]["securitySchemes"]["tokenHeader"] == {
        **DOCUMENT["components"]["securitySchemes"]["tokenHeader"], "name": "x-auth-token"}
    assert served["components"]["schemas"]["Password"]["minLength"] == 12
    assert served["paths"] == json.loads(json.dumps(DOCUMENT["paths"]))


@pytest.mark.gen_test
async def test_rate_limited_and_oversized_answers_are_documented(api: Any) -> None:
    first = await api.signup(email="one@example.com")
    assert_documented("/signup", "post", first.status, first.headers, first.body)
    limited = await api.signup(email="two@example.com")
    assert limited.status == 429
    assert_documented("/signup", "post", limited.status, limited.headers, limited.body)
    too_large = await api.post("/login", {"email": "one@example.com", "password": "x" * 4096})
    assert too_large.status == 413
    assert_documented("/login", "post", too_large.status, too_large.headers, too_large.body)


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

    def login(self, email: str, fresh: bool = False) -> dict[str, str]:
        return self.checked("POST", "/login", json_body={"email": email, "password": PASSWORD,
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
    server.checked("PATCH", "/user", json_body={"email": "moved@example.com"},
                   token=changed["tokens"]["access_token"])

    moved = {"email": "moved@example.com", "password": PASSWORD + "!"}
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
        run = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=40, check=False)
        assert run.returncode == 0, (f"{run.stdout[-12000:]}\n{run.stderr[-3000:]}\n"
                                     f"server log:\n{live_server.log_tail()}")

    started = time.monotonic()
    fuzz(live_server.login(email)["access_token"],
         *(arg for operation_id in DESTRUCTIVE for arg in ("--exclude-operation-id", operation_id)))
    fuzz(live_server.login(email, fresh=True)["access_token"],
         *(arg for operation_id in (*DESTRUCTIVE, "listSessions") for arg in ("--include-operation-id", operation_id)))
    assert time.monotonic() - started < 50
