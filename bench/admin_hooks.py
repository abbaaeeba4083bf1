"""What issue 17 adds to a request, measured in-process (no server): an admin key's check, a webhook event on the
request's path, and the first login of an imported user (its hash checked at the cost its system chose).

    .venv/bin/python bench/admin_hooks.py [--rounds 20]

Needs the test requirements (Django and Werkzeug make the imported hashes at their own default costs). Prints one
line per measurement: the median and the worst of `--rounds` runs, in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from pathlib import Path
from typing import Any

import bcrypt
from argon2 import PasswordHasher as Argon2Hasher
from django.contrib.auth import hashers as django_hashers
from timing import measure as timed
from werkzeug.security import generate_password_hash

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.accounts import PasswordHasher, verify_imported
from services.admin import AdminKeys
from services.config import WebhookConfig
from services.hooks import WebhookPublisher, event_from_audit

PASSWORD = "imported passphrase 2024"  # noqa: S105 - what the benchmark hashes
# Its labels are longer and its times shorter than password_checks.py's: wider columns, one more decimal.
measure = functools.partial(timed, width=64, decimals=4)
AUDIT_LINE = {"uid": "0b6c3c52-6f4c-4bb5-9d52-1c4f0d3a9e11", "ip": "192.0.2.7", "sid": "s1", "ts": time.time()}


class _UnusedRedis:
    """AdminKeys registers its scripts at construction; the digest measured here never reaches Redis."""

    def register_script(self, script: str) -> Any:
        return None


def admin_keys(rounds: int) -> None:
    keys = AdminKeys(redis=_UnusedRedis(), secret=b"k" * 32)
    presented = "pja_" + "A" * 43
    measure("admin key: HMAC-SHA256 digest (what each /admin request hashes)", lambda: keys.digest(presented), rounds)
    stored = bcrypt.hashpw(presented.encode(), bcrypt.gensalt(12))
    measure("for scale: bcrypt cost 12 of the same key (not used)", lambda: bcrypt.checkpw(presented.encode(), stored),
            max(3, rounds // 4))


async def webhook_event(rounds: int) -> None:
    """The request pays `on_audit` only: map the audit line, append to the buffer, wake the publisher's task."""
    endpoints = (WebhookConfig(url="http://127.0.0.1:9/a", secret="whsec_x", events=("*",)),  # noqa: S106
                 WebhookConfig(url="http://127.0.0.1:9/b", secret="whsec_y", events=("login.succeeded",)))  # noqa: S106
    publisher = WebhookPublisher(outbox=None, endpoints=endpoints, users=None)  # type: ignore[arg-type]
    measure("webhook: event_from_audit of a login line", lambda: event_from_audit("login.ok", AUDIT_LINE), rounds)

    def one_request() -> None:
        for _ in range(1000):
            publisher.on_audit("login.ok", AUDIT_LINE)
        publisher._buffer.clear()  # never flushed here: no Redis

    measure("webhook: on_audit x1000, 2 endpoints (the request's share)", one_request, rounds)
    publisher._stopping = True
    if publisher._task is not None:
        publisher._task.cancel()


def imported_hashes(rounds: int) -> None:
    """The first login of an imported user: one check at the cost its system chose (its default), then ours."""
    made = {
        "bcrypt $2b$, cost 12": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(12)).decode(),
        "argon2id, argon2-cffi's defaults (t=3, m=64 MiB, p=4)": Argon2Hasher().hash(PASSWORD),
        f"Django pbkdf2_sha256, {django_hashers.PBKDF2PasswordHasher.iterations:,} iterations (its default)":
            django_hashers.PBKDF2PasswordHasher().encode(PASSWORD, "seasalt0seasalt0"),
        "Django scrypt, its default (n=2^14, r=8, p=5)":
            django_hashers.ScryptPasswordHasher().encode(PASSWORD, "seasalt0seasalt0"),
        "Werkzeug scrypt, its default (32768:8:1)": generate_password_hash(PASSWORD),
        "Werkzeug pbkdf2:sha256, its default (1,000,000)": generate_password_hash(PASSWORD, method="pbkdf2"),
    }
    for label, stored in made.items():
        assert verify_imported(PASSWORD, stored), label
        measure(f"import: {label}", lambda stored=stored: verify_imported(PASSWORD, stored), max(3, rounds // 4))
    ours = PasswordHasher(cost=12)
    measure("for scale: our own hash, bcrypt-sha256 cost 12", lambda: ours._hash_sync(PASSWORD), max(3, rounds // 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    admin_keys(rounds)
    asyncio.run(webhook_event(rounds))
    imported_hashes(rounds)


if __name__ == "__main__":
    main()
