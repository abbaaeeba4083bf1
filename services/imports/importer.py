"""Moving users in from another system: JSON lines of `{email, name, email_verified, password_hash, app_metadata,
user_metadata, created_at}`, through `POST /admin/users/import` or `python server.py users import FILE`.

Each line is checked whole before anything is written, then written in one insert, so a bad line leaves no
partial user, and the lines before and after it are imported all the same. The import is idempotent by address: a
line whose address (or one that reads the same) has an account is skipped, so running a file twice imports it
once. A plain `password` is refused: only hashes are imported, and the first login verifies the typed password
against the imported hash and replaces it with ours (services/accounts/imported_hashes.py). A line without a
hash makes an account without a password; its owner sets one with "forgot password". The before_signup hook is
not asked: these accounts exist already, elsewhere.

The report says, per line, `imported` (with the new uid), `skipped` or `refused` (with why); it never repeats a
hash.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.accounts import UnsupportedHash, check_imported
from services.operations import AuditLog
from services.outcomes import AuthError
from services.users import UserStore, clean_name, metadata_object, normalize_email

FIELDS = {"email", "name", "email_verified", "password_hash", "app_metadata", "user_metadata", "created_at"}
MAX_LINE_BYTES = 16 * 1024


class Refused(ValueError):
    """This line cannot be imported; the message says why."""


@dataclass
class ImportReport:
    imported: int = 0
    skipped: int = 0
    refused: int = 0
    lines: list[dict[str, Any]] = field(default_factory=list)

    def public(self) -> dict[str, Any]:
        return {"imported": self.imported, "skipped": self.skipped, "refused": self.refused, "lines": self.lines}


@dataclass(frozen=True)
class ImportedUser:
    email: str
    name: str
    email_verified: bool
    password_hash: str
    created_at: int
    app_metadata: dict[str, Any] | None
    user_metadata: dict[str, Any] | None


class UserImport:
    def __init__(self, *, users: UserStore, audit: AuditLog) -> None:
        self._users = users
        self._audit = audit

    async def run(self, lines: Iterable[str] | AsyncIterable[str], by: str) -> ImportReport:
        """Import every line (blank ones are passed over); `by` names who imports (an admin key, `command line`)."""
        report = ImportReport()
        number = 0
        async for text in _each(lines):
            number += 1
            if text.strip():
                report.lines.append(await self._line(number, text, by, report))
        return report

    async def _line(self, number: int, text: str, by: str, report: ImportReport) -> dict[str, Any]:
        try:
            user = parse_line(text)
        except Refused as exc:
            report.refused += 1
            return {"line": number, "outcome": "refused", "reason": str(exc)}
        stored = await self._users.create_imported(user.email, user.name, user.password_hash, user.email_verified,
                                                   user.created_at, user.app_metadata, user.user_metadata)
        if stored is None:
            report.skipped += 1
            return {"line": number, "outcome": "skipped", "email": user.email,
                    "reason": "an account with this address exists"}
        report.imported += 1
        self._audit.record("account.imported", uid=stored.uid, by=by)
        return {"line": number, "outcome": "imported", "email": user.email, "uid": stored.uid}


def parse_line(text: str) -> ImportedUser:
    """One line, checked whole: Refused names the first problem."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
        raise Refused(f"the line is longer than {MAX_LINE_BYTES} bytes")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("not a JSON object") from None
    if not isinstance(value, dict):
        raise Refused("not a JSON object")
    if "password" in value:
        raise Refused("plain passwords are never imported: send password_hash")
    unknown = sorted(set(value) - FIELDS)
    if unknown:
        raise Refused(f"unknown fields {unknown}")
    try:
        email = normalize_email(_text(value, "email"))
        name = clean_name(value.get("name") or email.split("@")[0]) if isinstance(value.get("name", ""), str) \
            else _wrong("name", "a string")
        metadata = {field: metadata_object(value[field], field) if value.get(field) is not None else None
                    for field in ("app_metadata", "user_metadata")}
    except AuthError as exc:
        raise Refused(exc.message) from None
    password_hash = value.get("password_hash") or ""
    if password_hash:
        try:
            check_imported(password_hash)
        except UnsupportedHash as exc:
            raise Refused(str(exc)) from None
    verified = value.get("email_verified", False)
    if not isinstance(verified, bool):
        _wrong("email_verified", "true or false")
    return ImportedUser(email=email, name=name, email_verified=verified, password_hash=password_hash,
                        created_at=_created_at(value.get("created_at")), app_metadata=metadata["app_metadata"] or None,
                        user_metadata=metadata["user_metadata"] or None)


def _text(value: dict[str, Any], name: str) -> str:
    text = value.get(name)
    if not isinstance(text, str) or not text:
        _wrong(name, "a string")
    return str(text)


def _created_at(value: Any) -> int:
    """Unix seconds, or an ISO 8601 time with its offset; none: now. Never in the future."""
    now = int(time.time())
    if value is None:
        return now
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= now:
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None and 0 <= parsed.timestamp() <= now:
            return int(parsed.timestamp())
    _wrong("created_at", "unix seconds or an ISO 8601 time with its offset, not in the future")
    return now


def _wrong(name: str, expected: str) -> Any:
    raise Refused(f"{name} must be {expected}")


async def _each(lines: Iterable[str] | AsyncIterable[str]) -> AsyncIterable[str]:
    if isinstance(lines, AsyncIterable):
        async for line in lines:
            yield line
    else:
        for line in lines:
            yield line
