"""One server per DATA_DIR: an exclusive lock on `DATA_DIR/server.lock`, taken before anything else is touched.

A second server started in the same folder would start a redis-server of its own there, which removes the
first one's socket as it binds (so 90 % of the first server's requests failed), and would empty the metrics
folder the first one writes to. With the lock, the second start exits 2 naming the process that holds it.

`flock` rather than POSIX `fcntl` locks: a flock belongs to the open file, which forked workers share, so the
folder stays locked while any process of this server lives (a worker still finishing its requests after its
supervisor was killed), and is released by the kernel when the last one exits, however it exits. A POSIX lock
belongs to one process: forked workers would not hold it, and closing any descriptor of the file would drop it.
The descriptor is not inherited across exec (Python's default), so a redis-server we start never holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from runtime.errors import CannotStart

LOCK_FILE = "server.lock"


class DataDirLock:
    """Held from `acquire` until `release` or the end of the last process sharing it."""

    def __init__(self, folder: Path, descriptor: int) -> None:
        self.folder = folder
        self._descriptor: int | None = descriptor

    @classmethod
    def acquire(cls, folder: Path) -> DataDirLock:
        """Lock `folder` (created if missing) for this process and the workers it forks; CannotStart when another
        server holds it. Nothing in the folder is changed unless the lock is ours."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise CannotStart(f"setting DATA_DIR: {folder} is a file, not a folder") from None
        except OSError as exc:
            raise CannotStart(f"setting DATA_DIR: cannot create {folder}: {exc.strerror}") from None
        path = folder / LOCK_FILE
        try:
            descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise CannotStart(f"setting DATA_DIR: cannot open {path}: {exc.strerror}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(descriptor)
            raise CannotStart(f"setting DATA_DIR: {folder} is in use by another server (pid {holder}); stop it, "
                              "or give this one a DATA_DIR of its own") from None
        # Ours: say whose it is, for the next start that finds it taken.
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        return cls(folder, descriptor)

    def release(self) -> None:
        """This process's hold; workers forked earlier keep theirs until they exit."""
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None
