"""docs/openapi.yaml is the API: every route and code is in it, and the server serves it for its own settings.

The tests hold the document against the routes and services/outcomes.py; tests/handlers/test_openapi_live.py
checks a live server's answers against it."""


from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import tornado.web
from support.openapi import DOCUMENT, assert_documented, resolved

from handlers.application import AuthApplication
from services.config import load_config
from services.outcomes import IDENTITY_LINKED, INTERNAL_ERROR, METHOD_NOT_ALLOWED, PROVIDER_DENIED, all_outcomes

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = ("get", "post", "patch", "put", "delete")

# A bug and a wrong method are answered the same way everywhere; the document says so once, in words.
# Codes that only travel in the fragment of /callback's redirect are described there in words.
UNDOCUMENTED_CODES = {INTERNAL_ERROR.code, METHOD_NOT_ALLOWED.code, PROVIDER_DENIED.code, IDENTITY_LINKED.code}



# --- the document itself --------------------------------------------------------------------------------


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
        assert {"200", "201", "302"} & set(responses) and "413" in responses, (method, path)
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
