"""The thread pools a serving process runs its CPU work in, one per kind of work, so that one cannot starve the
other: password hashing and key files in one, picture decoding in another, password strength estimates in a third.

Before this split, two large uploads took both threads of a 2-core machine's one pool and a login waited 3.9 s
behind them (issue 12, item 7). Now a picture waits for a picture thread (`PICTURE_THREADS`, 1 by default:
each decode holds a full-size copy of its pixels, so the count of threads bounds the memory uploads can take)
and logins keep their own threads. A password strength estimate (zxcvbn: a crafted password costs it up to 0.2 s,
services/accounts/passwords.py) runs on one thread of its own, so a flood of them waits there and never takes the
threads logins need. CPU priority follows the same order, per thread (Linux nice values):
the event loop thread first, then the hashing threads 5 levels below it (a login flood must not slow
`GET /user`, bench/compare.py), then the picture threads 5 below those, so logins win a core from uploads.
"""

from __future__ import annotations

import contextlib
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

from services.config import Config

CPU_NICENESS = 5  # below the event loop thread
PICTURE_NICENESS = 10  # below the hashing threads too


@dataclass(frozen=True)
class Executors:
    """`None` for either: the event loop's default executor (tests, one-off commands)."""

    cpu: Executor | None = None  # bcrypt, key files
    pictures: Executor | None = None  # decoding and re-encoding uploaded pictures
    strength: Executor | None = None  # password strength estimates, one at a time

    def shutdown(self) -> None:
        for executor in (self.cpu, self.pictures, self.strength):
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)


def build_executors(config: Config) -> Executors:
    return Executors(
        cpu=ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="auth-cpu",
                               initializer=lower_thread_priority, initargs=(CPU_NICENESS,)),
        pictures=ThreadPoolExecutor(max_workers=config.picture_threads, thread_name_prefix="auth-pictures",
                                    initializer=lower_thread_priority, initargs=(PICTURE_NICENESS,)),
        strength=ThreadPoolExecutor(max_workers=1, thread_name_prefix="auth-strength",
                                    initializer=lower_thread_priority, initargs=(CPU_NICENESS,)),
    )


def lower_thread_priority(levels: int = CPU_NICENESS) -> None:
    """Run the calling thread `levels` nice levels below the process (Linux: nice is per thread).

    Idle cores still go to these threads; only when cores are contended does the loop thread come first."""
    with contextlib.suppress(AttributeError, OSError):  # no setpriority here: equal priority, as before
        os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + levels)

