"""User import (issue 17): JSON lines with the password hashes of other systems, made here by those systems' own
libraries (bcrypt, argon2-cffi, Django's hashers, Werkzeug's); each is verified at the first login and replaced
by ours; idempotent by address, a report per line, never a partial user."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from argon2 import PasswordHasher as Argon2Hasher
from django.contrib.auth import hashers as django_hashers
from support.admin import admin_key, bearer
from support.api import Api, assert_error, login_tokens
from werkzeug.security import generate_password_hash

from commands.users import run_users_import
from services.wiring import Services

PASSWORD = "imported passphrase 2024"


def django_argon2(password: str) -> str:
    hasher = django_hashers.Argon2PasswordHasher()
    hasher.time_cost, hasher.memory_cost, hasher.parallelism = 1, 64, 1
    return hasher.encode(password, hasher.salt())


def django_bcrypt_sha256(password: str) -> str:
    hasher = django_hashers.BCryptSHA256PasswordHasher()
    hasher.rounds = 4
    return hasher.encode(password, hasher.salt())


# Every format the import reads, made by the library of the system it comes from, at low cost for speed.
FORMATS = {
    "bcrypt-2a": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4, prefix=b"2a")).decode(),
    "bcrypt-2b": lambda pw: bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode(),
    "bcrypt-2y (PHP)": lambda pw: "$2y$" + bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode()[4:],
    "argon2id": lambda pw: Argon2Hasher(time_cost=1, memory_cost=64, parallelism=1).hash(pw),
    "django pbkdf2_sha256": lambda pw: django_hashers.PBKDF2PasswordHasher().encode(pw, "seasalt", iterations=1000),
    "django scrypt": lambda pw: django_hashers.ScryptPasswordHasher().encode(pw, "seasalt", n=2 ** 10, r=8, p=1),
    "django argon2": django_argon2,
    "django bcrypt_sha256": django_bcrypt_sha256,
    "werkzeug pbkdf2:sha256": lambda pw: generate_password_hash(pw, method="pbkdf2:sha256:1000"),
    "werkzeug scrypt": lambda pw: generate_password_hash(pw, method="scrypt:1024:8:1"),
}


def line(**fields: Any) -> str:
    return json.dumps(fields)


async def import_lines(api: Api, key: str, *lines: str) -> Any:
    answer = await api.post("/admin/users/import", body="\n".join(lines), **bearer(key))
    assert answer.status == 200 and answer.json["code"] == "auth/users-imported", answer.body
    return answer.json


@pytest.mark.parametrize("scheme", FORMATS)
@pytest.mark.gen_test(timeout=60)
async def test_each_hash_format_lets_its_user_log_in_once_and_is_then_replaced_by_ours(
        services: Services, api: Api, scheme: str) -> None:
    imported_hash = FORMATS[scheme](PASSWORD)
    key = await admin_key(services)
    report = await import_lines(api, key, line(email="moved@example.com", name="Moved", email_verified=True,
                                               password_hash=imported_hash, app_metadata={"roles": ["member"]},
                                               created_at=1_600_000_000))
    assert (report["imported"], report["skipped"], report["refused"]) == (1, 0, 0), report
    assert imported_hash not in json.dumps(report)
    assert_error(await api.login("moved@example.com", PASSWORD + "x"), 401, "auth/invalid-credentials")
    assert (await services.users.find_by_email("moved@example.com")).password_hash == imported_hash  # type: ignore[union-attr]
    tokens = await login_tokens(api, "moved@example.com", PASSWORD)
    stored = await services.users.find_by_email("moved@example.com")
    assert stored is not None and stored.password_hash.startswith("$bcrypt-sha256$")  # rehashed to our scheme
    assert stored.created_at == 1_600_000_000 and stored.app_metadata == {"roles": ["member"]}
    assert (await api.get("/user", token=tokens["access_token"])).json["app_metadata"] == {"roles": ["member"]}
    assert (await api.login("moved@example.com", PASSWORD)).status == 200  # and our hash takes it from here


@pytest.mark.gen_test(timeout=60)
async def test_an_import_is_idempotent_by_address_and_reports_every_line(services: Services, api: Api) -> None:
    key = await admin_key(services)
    await api.signup(email="here@example.com")
    lines = [line(email="one@example.com", name="One", password_hash=FORMATS["bcrypt-2b"](PASSWORD)),
             line(email="HERE@example.com", name="Already here"),
             "not json at all",
             line(email="plain@example.com", password="in the clear"),
             line(email="bad-hash@example.com", password_hash="md5$abc$def"),
             line(email="not an address"),
             line(email="meta@example.com", app_metadata=["not", "an", "object"]),
             line(email="future@example.com", created_at=4_000_000_000),
             line(email="typo@example.com", nmae="Typo"),
             "",
             line(email="two@example.com", created_at="2021-05-04T10:00:00Z")]
    report = await import_lines(api, key, *lines)
    assert (report["imported"], report["skipped"], report["refused"]) == (2, 1, 7), report
    outcomes = {entry["line"]: entry["outcome"] for entry in report["lines"]}
    assert outcomes == {1: "imported", 2: "skipped", 3: "refused", 4: "refused", 5: "refused", 6: "refused",
                        7: "refused", 8: "refused", 9: "refused", 11: "imported"}
    reasons = {entry["line"]: entry.get("reason", "") for entry in report["lines"]}
    assert "plain passwords are never imported" in reasons[4] and "bcrypt" in reasons[5]
    for refused in ("bad-hash", "plain", "meta", "future", "typo"):  # no partial user of a refused line
        assert await services.users.find_by_email(f"{refused}@example.com") is None
    two = await services.users.find_by_email("two@example.com")
    assert two is not None and two.created_at == 1620122400 and two.name == "two" and not two.has_password
    again = await import_lines(api, key, *lines)
    assert (again["imported"], again["skipped"], again["refused"]) == (0, 3, 7)
    assert await services.users.count() == 3


@pytest.mark.gen_test(timeout=30)
async def test_the_endpoint_needs_users_write_and_json_lines(services: Services, api: Api) -> None:
    reader = await admin_key(services, "users:read", name="reader")
    assert_error(await api.post("/admin/users/import", body=line(email="a@example.com"), **bearer(reader)), 403,
                 "auth/insufficient-scope")
    writer = await admin_key(services, "users:write", name="writer")
    assert_error(await api.post("/admin/users/import", body="\n\n", **bearer(writer)), 400, "auth/invalid-import")
    assert_error(await api.post("/admin/users/import", body=b"\xff\xfe", **bearer(writer)), 400,
                 "auth/invalid-import")


@pytest.mark.gen_test(timeout=60)
async def test_the_command_line_imports_a_file_and_says_what_it_refused(services: Services, api: Api, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "users.jsonl"
    source.write_text("\n".join([line(email="cli@example.com", name="Cli",
                                      password_hash=FORMATS["werkzeug scrypt"](PASSWORD)),
                                 line(email="broken@example.com", password_hash="$2b$04$short")]) + "\n")
    assert await run_users_import(services, source) == 1
    out = capsys.readouterr().out
    assert "1 imported, 0 skipped (address taken), 1 refused" in out and '"line": 2' in out
    assert (await api.login("cli@example.com", PASSWORD)).status == 200
    assert await run_users_import(services, tmp_path / "missing.jsonl") == 1
