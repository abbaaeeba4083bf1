"""Issue 12, item 10: an unreadable key file is skipped with a log line, and never stops the rest of the ring.

One `.pub` with a non-UTF-8 byte used to make every reload raise: a deleted key's tokens were still accepted
seconds later, and a fresh start crashed. Whatever is wrong with one file, the others load and change as usual.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from support.api import eventually
from support.processes import start_server, stop_server

from services.tokens import KeyRing, keyfiles


def loaded(folder: Path) -> KeyRing:
    ring = KeyRing(folder)
    asyncio.run(ring.reload())
    return ring


def delete_pair(folder: Path, kid: str) -> None:
    for path in folder.glob(f"{kid}.*"):
        path.unlink()


def _latin1_comment(folder: Path, kid: str) -> None:
    """A valid PEM whose file also holds a Latin-1 byte outside the armour: cryptography parses it, UTF-8 does not."""
    path = folder / f"{kid}.pub"
    path.write_bytes(b"# cl\xe9 de production\n" + path.read_bytes())


def _binary_garbage(folder: Path, kid: str) -> None:
    (folder / f"{kid}.pub").write_bytes(bytes(range(256)))


def _private_half_is_a_folder(folder: Path, kid: str) -> None:
    (folder / f"{kid}.key").unlink()
    (folder / f"{kid}.key").mkdir()


def _dangling_public_link(folder: Path, kid: str) -> None:
    (folder / f"{kid}.pub").unlink()
    (folder / f"{kid}.pub").symlink_to(folder / "nowhere.pem")


UNREADABLE: dict[str, Callable[[Path, str], None]] = {
    "latin-1-byte": _latin1_comment, "binary-garbage": _binary_garbage,
    "private-half-is-a-folder": _private_half_is_a_folder, "dangling-link": _dangling_public_link,
}


@pytest.mark.parametrize("spoil", sorted(UNREADABLE))
def test_an_unreadable_file_is_skipped_with_a_log_line_and_the_others_still_change(
        tmp_path: Path, spoil: str, caplog: pytest.LogCaptureFixture) -> None:
    kept, deleted, bad = (keyfiles.generate(tmp_path, "ES256") for _ in range(3))
    UNREADABLE[spoil](tmp_path, bad)
    ring = loaded(tmp_path)
    assert set(ring.keys) == {kept, deleted}
    if spoil != "dangling-link":  # a link to nothing is no key file at all: nothing to read, nothing to say
        assert [record.levelname for record in caplog.records if bad in record.getMessage()] == ["WARNING"]

    delete_pair(tmp_path, deleted)
    assert asyncio.run(ring.reload()) is True
    assert set(ring.keys) == {kept}
    assert asyncio.run(ring.reload()) is False
    assert len([record for record in caplog.records if bad in record.getMessage()]) <= 1, "said once, not per round"


def test_a_file_vanishing_between_the_scan_and_the_read_is_skipped(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Key rotation by another process races with the reloader: a pair deleted mid-round is no error."""
    kept, vanishing = keyfiles.generate(tmp_path, "ES256"), keyfiles.generate(tmp_path, "ES256")
    scan = keyfiles.scan

    def scan_then_delete(folder: Path) -> dict[str, tuple[int, ...]]:
        found = scan(folder)
        delete_pair(folder, vanishing)
        return found

    monkeypatch.setattr(keyfiles, "scan", scan_then_delete)
    assert set(loaded(tmp_path).keys) == {kept}


def test_a_keys_folder_that_cannot_be_listed_keeps_the_ring_and_recovers(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    kid = keyfiles.generate(folder, "ES256")
    ring = loaded(folder)
    moved = tmp_path / "moved"
    folder.rename(moved)
    folder.write_text("not a folder")  # an operator's slip: the keys path is now a file
    assert asyncio.run(ring.reload()) is False
    assert set(ring.keys) == {kid}, "a folder that cannot be read is no reason to forget every key"
    folder.unlink()
    moved.rename(folder)
    other = keyfiles.generate(folder, "ES256")
    assert asyncio.run(ring.reload()) is True
    assert set(ring.keys) == {kid, other}


@pytest.mark.gen_test(timeout=15)
async def test_a_deleted_keys_tokens_are_refused_even_beside_an_unreadable_file(api: Any, keys_dir: Path) -> None:
    token = (await api.signed_up_tokens())["access_token"]
    keyfiles.generate(keys_dir, "ES256")  # something left to sign with
    broken = keyfiles.generate(keys_dir, "ES256")
    _latin1_comment(keys_dir, broken)
    delete_pair(keys_dir, jwt.get_unverified_header(token)["kid"])

    async def refused() -> bool:
        return (await api.get("/user", token=token)).status == 401

    assert await eventually(refused)
    assert broken not in (await api.get("/settings/keys")).json


def test_a_fresh_start_beside_an_unreadable_file_serves(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    good = keyfiles.generate(keys, "ES256")
    broken = keyfiles.generate(keys, "ES256")
    _latin1_comment(keys, broken)
    os.utime(keys / f"{good}.pub")
    server = start_server(tmp_path)
    try:
        status, published = server.call("GET", "/settings/keys")
        assert (status, set(published)) == (200, {good})
        assert f"skipping key {broken}" in server.stderr
        assert "Traceback" not in server.stderr
    finally:
        stop_server(server.process)
