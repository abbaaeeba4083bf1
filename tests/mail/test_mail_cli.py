"""`python server.py mail dead-letters`: what an operator reads when mail keeps failing, from the servers' Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.processes import SERVER, server_environ

from services.mail import ResetRequest
from services.wiring import Services


def dead_letters(*args: str, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SERVER), "mail", "dead-letters", *args], cwd=cwd, text=True,
                          capture_output=True, env=server_environ(**settings), timeout=30, check=False)


@pytest.mark.gen_test(timeout=30)
async def test_dead_letters_lists_each_set_aside_mail_newest_first(services: Services, tmp_path: Path) -> None:
    outbox = services.mail.outbox
    for address in ("first@example.com", "second@example.com"):
        await outbox.enqueue(ResetRequest(email=address))
        [claimed] = await outbox.claim()
        await outbox.fail(claimed, f"550 no mailbox {address}", permanent=True)
    done = dead_letters(cwd=tmp_path, REDIS_URL=services.config.redis_url)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stdout.splitlines()]
    assert [entry["message"] for entry in entries] == [{"kind": "reset-request", "email": "second@example.com"},
                                                       {"kind": "reset-request", "email": "first@example.com"}]
    assert entries[0]["error"] == "550 no mailbox second@example.com" and entries[0]["attempts"] == 1
    one = dead_letters("--count", "1", cwd=tmp_path, REDIS_URL=services.config.redis_url)
    assert len(one.stdout.splitlines()) == 1


def test_dead_letters_without_a_redis_says_so(tmp_path: Path) -> None:
    done = dead_letters(cwd=tmp_path, DATA_DIR=str(tmp_path / "data"))
    assert done.returncode == 1
    assert "no REDIS_URL is set and no embedded server is running" in done.stderr
