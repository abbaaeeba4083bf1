"""Reading request bodies: JSON (typed access to its fields), URL-encoded forms and multipart uploads.

The only way handlers read what a client sent. A JSON field that is an object or a list where a string belongs
(`{"email": {"$ne": ""}}`) is refused here with 400, so no client value can ever reach a database query as an
operator. Bodies are streamed (BaseHandler counts them against MAX_CONTENT_LENGTH), so Tornado's own argument
parsing never sees them: these readers take the bytes.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import tornado.httputil

from services.outcomes import BAD_REQUEST, INVALID_FIELD, INVALID_JSON, MISSING_FIELD, AuthError

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

    def object(self, name: str) -> dict[str, Any]:
        """A JSON object field (metadata); its contents are the service's to check."""
        value = self._fields.get(name)
        if not isinstance(value, dict):
            raise AuthError(INVALID_FIELD, f"The field '{name}' must be a JSON object.")
        return value

    def optional_flag(self, name: str) -> bool | None:
        """true or false when sent, None when absent or null (the server's setting then decides)."""
        return self.flag(name) if self._fields.get(name) is not None else None

    def names(self) -> set[str]:
        return set(self._fields)

    def optional_object(self, name: str) -> dict[str, Any] | None:
        """A JSON object field (a WebAuthn credential), or None when absent; it never reaches a query."""
        value = self._fields.get(name)
        if value is not None and not isinstance(value, dict):
            raise AuthError(INVALID_FIELD, f"The field '{name}' must be an object.")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._fields.get(name, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise AuthError(INVALID_FIELD, f"The field '{name}' must be true or false.")
        return value


def form_fields(raw: bytes) -> dict[str, str | None]:
    """An `application/x-www-form-urlencoded` body (a provider's form_post), first value of each field."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthError(INVALID_FIELD, "The form is not valid UTF-8.") from None
    fields: dict[str, str | None] = {}
    for name, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def uploaded_file(content_type: str, raw: bytes, field: str) -> bytes:
    """An uploaded file: the `field` part of a multipart form (else its first file), or the raw body.

    What the client says the file is (name, Content-Type) is ignored: the service looks at the bytes.
    """
    if content_type.lower().startswith("multipart/form-data"):
        files: dict[str, list[tornado.httputil.HTTPFile]] = {}
        try:
            tornado.httputil.parse_body_arguments(content_type, raw, {}, files)
        except tornado.httputil.HTTPInputError:  # no boundary, missing part headers, ...
            raise AuthError(BAD_REQUEST, "The multipart form is malformed.") from None
        parts = files.get(field) or next(iter(files.values()), [])
        if not parts or not parts[0].body:
            raise AuthError(MISSING_FIELD, f"The form has no file: send it as the field '{field}'.")
        return parts[0].body
    if not raw:
        raise AuthError(MISSING_FIELD, f"Send the file as the request body or as the form field '{field}'.")
    return raw
