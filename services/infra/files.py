"""A file made once, atomically, by whichever process gets there first: the keys a server makes on first start
(the audit key, the MFA encryption keys) must be the same for every process sharing its DATA_DIR."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def create_once(path: Path, text: str) -> None:
    """Write `text` to a draft beside `path` (readable by its owner only), then link it into place: a second process
    that raced this one finds the first one's file and keeps it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: its file is the one
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
