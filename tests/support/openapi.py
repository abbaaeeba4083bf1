"""The API document (docs/openapi.yaml) for the tests: loaded once, with `$ref`s resolved, and a check that an
answer is one it describes."""


from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT: dict[str, Any] = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))


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


