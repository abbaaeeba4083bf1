"""Signing keys in a test's keys folder."""

from __future__ import annotations

from pathlib import Path


def delete_pair(folder: Path, kid: str) -> None:
    """Both files of a key, as an operator deleting it (the emergency brake of docs/tokens-and-sessions.md)."""
    for path in folder.glob(f"{kid}.*"):
        path.unlink()
