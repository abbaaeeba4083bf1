"""Issue 12, item 16: whatever is wrong at start-up, the real `server.py serve` says it in one line naming the
setting or file, exits 2, and leaves nothing behind: no traceback, no process, no half-started Redis."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.processes import SERVER, free_port, server_environ

from services.tokens import keyfiles

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2


@dataclass
class Start:
    """How one faulty start is set up: settings, files, and whatever must stay open while it runs."""

    folder: Path
    settings: dict[str, str] = field(default_factory=dict)
    read_only_files: bool = False  # the server runs without root's right to write anywhere (see below)
    held: list[socket.socket] = field(default_factory=list)


def _config_not_utf8(start: Start) -> str:
    (start.folder / "config.yaml").write_bytes(b"APP_NAME: Caf\xe9 Auth\n")
    return "config.yaml"


def _config_is_a_folder(start: Start) -> str:
    (start.folder / "config.yaml").mkdir()
    return "config.yaml"


def _setting(name: str, value: str, **more: str) -> Callable[[Start], str]:
    """A fault that is one setting's value (and whatever else it needs to show quickly)."""

    def fault(start: Start) -> str:
        start.settings.update({name: value, **more})
        return name

    return fault


def _data_dir_is_a_file(start: Start) -> str:
    (start.folder / "data").write_text("not a folder")
    return "DATA_DIR"


def _keys_is_a_file(start: Start) -> str:
    (start.folder / "keys").write_text("not a folder")
    return "JWT_KEYS"


def _empty_read_only_keys(start: Start) -> str:
    (start.folder / "keys").mkdir()
    (start.folder / "keys").chmod(0o555)
    start.read_only_files = True
    return "JWT_KEYS"


def _busy_port(start: Start) -> str:
    taken = socket.create_server(("127.0.0.1", 0))
    start.held.append(taken)
    start.settings["PORT"] = str(taken.getsockname()[1])
    return "PORT"


# An unreachable MongoDB is not among them: it is no reason not to start, as with Redis (issue 13): the server
# serves, /readyz says `mongo` is unavailable, and the indexes are made once it answers (tests/infra/).
FAULTS: dict[str, Callable[[Start], str]] = {
    "config-not-utf-8": _config_not_utf8, "config-is-a-folder": _config_is_a_folder,
    "bad-host": _setting("HOST", "256.0.0.1"),
    "redis-url-scheme": _setting("REDIS_URL", "http://127.0.0.1:6379/0"),
    "redis-url-port": _setting("REDIS_URL", "redis://127.0.0.1:sixty/0"),
    "data-dir-is-a-file": _data_dir_is_a_file, "keys-is-a-file": _keys_is_a_file,
    "empty-read-only-keys": _empty_read_only_keys,
    "mongo-malformed-port": _setting("MONGO_URL", "mongodb://db.example.com:port/auth"),
    "mongo-malformed-scheme": _setting("MONGO_URL", "mongodb:/db.example.com/auth"),
    "busy-port": _busy_port,
}


def _without_root_overrides() -> None:
    """In the child, before exec: drop root's capabilities to write and read past permission bits, so a folder
    without write permission is read-only to the server even when the tests run as root (as CI does)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _can_drop_capabilities() -> bool:
    if os.geteuid() != 0:
        return True  # not root: permission bits apply anyway
    try:
        subprocess.run([sys.executable, "-c", ""], preexec_fn=_without_root_overrides, check=True)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    setup = Start(tmp_path)
    yield setup
    for held in setup.held:
        held.close()


def left_running(folder: Path) -> list[int]:
    """Processes whose command line names `folder`: a redis-server the server started there, say."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(folder).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_start_up_fault_is_one_line_naming_it_and_exit_2(start: Start, fault: str) -> None:
    named = FAULTS[fault](start)
    if start.read_only_files and not _can_drop_capabilities():
        pytest.skip("running as root without CAP_SETPCAP: no folder can be read-only to the server")
    if not (start.folder / "keys").exists():
        keyfiles.generate(start.folder / "keys", "ES256")  # a first start's generated key would add a line
    settings = {"JWT_KEYS": str(start.folder / "keys"), "DATA_DIR": str(start.folder / "data"), "LOG_LEVEL": "INFO",
                **start.settings}
    port = settings.pop("PORT", str(free_port()))
    process = subprocess.Popen([sys.executable, str(SERVER), "serve", "--port", port], cwd=start.folder,
                               env=server_environ(**settings), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True,
                               preexec_fn=_without_root_overrides if start.read_only_files else None)
    try:
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
            process.wait()
    text = stderr.decode(errors="replace")
    assert process.returncode == 2, text
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert named in lines[0]
    assert not left_running(start.folder), "nothing the server started outlives it"
    assert not (start.folder / "data" / "redis" / "redis.sock").exists()
