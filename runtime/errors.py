"""The one way start-up fails on purpose."""

from __future__ import annotations


class CannotStart(Exception):
    """A start-up fault only the operator can fix (a folder that is a file, a busy port, a DATA_DIR in use, a
    MongoDB that cannot be reached): its message is one line naming the setting or file; the process exits 2."""
