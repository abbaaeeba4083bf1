"""`app_metadata` and `user_metadata`: JSON objects stored with the user, at most 4 KB each.

`user_metadata` is the user's own (`PATCH /user {"user_metadata": {...}}`: preferences, a locale);
`app_metadata` only an admin sets (`roles`, a plan) and every new access token carries it as a claim, so it
must stay small: a token travels with every request. Keys are plain names: no leading `$` and no `.`, which
MongoDB reads as operators and paths. An empty object clears the field.
"""

from __future__ import annotations

import json
from typing import Any

from services.outcomes import INVALID_METADATA, AuthError

MAX_METADATA_BYTES = 4096
MAX_DEPTH = 8


def metadata_object(value: Any, field: str) -> dict[str, Any]:
    """`value` as stored metadata, or 400 `auth/invalid-metadata` naming the field and what is wrong."""
    if not isinstance(value, dict):
        raise AuthError(INVALID_METADATA, f"{field} must be a JSON object.")
    try:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError, UnicodeEncodeError):
        raise AuthError(INVALID_METADATA, f"{field} must be JSON.") from None
    if size > MAX_METADATA_BYTES:
        raise AuthError(INVALID_METADATA, f"{field} must be at most {MAX_METADATA_BYTES} bytes of JSON.")
    _check_keys(value, field, 0)
    return value


def _check_keys(value: Any, field: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise AuthError(INVALID_METADATA, f"{field} may nest at most {MAX_DEPTH} levels.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not key or key.startswith("$") or "." in key or "\x00" in key:
                raise AuthError(INVALID_METADATA, f"{field} keys must not be empty, start with $ or hold a dot.")
            _check_keys(item, field, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_keys(item, field, depth + 1)
