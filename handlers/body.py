"""Typed access to a JSON request body: the only way handlers read client fields.

A field that is an object or a list where a string belongs (`{"email": {"$ne": ""}}`) is refused here
with 400, so no client value can ever reach a database query as an operator.
"""

from __future__ import annotations

import json
from typing import Any

from services.errors import INVALID_FIELD, INVALID_JSON, MISSING_FIELD, AuthError

_MISSING = object()


class JsonBody:
    def __init__(self, fields: dict[str, Any]) -> None:
        self._fields = fields

    @classmethod
    def parse(cls, raw: bytes, allow_empty: bool = False) -> JsonBody:
        if not raw.strip():
            if allow_empty:
                return cls({})
            raise AuthError(INVALID_JSON)
        try:
            value = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise AuthError(INVALID_JSON) from None
        if not isinstance(value, dict):
            raise AuthError(INVALID_JSON)
        return cls(value)

    def __contains__(self, name: str) -> bool:
        return name in self._fields

    def text(self, name: str) -> str:
        value = self._fields.get(name, _MISSING)
        if value is _MISSING or value is None:
            raise AuthError(MISSING_FIELD, f"The field '{name}' is required.")
        if not isinstance(value, str):
            raise AuthError(INVALID_FIELD, f"The field '{name}' must be a string.")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # JSON can carry lone surrogates; MongoDB and bcrypt cannot
            raise AuthError(INVALID_FIELD, f"The field '{name}' is not valid text.") from None
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if self._fields.get(name) is not None else None

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._fields.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise AuthError(INVALID_FIELD, f"The field '{name}' must be true or false.")
        return value
