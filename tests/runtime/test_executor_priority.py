"""The thread pools' order of precedence (services/wiring/executors.py): the IOLoop thread first, then the hashing
threads (bcrypt) five nice levels below it, then the picture threads five below those (issue 12, item 7)."""

from __future__ import annotations

import os
import sys

import pytest

from services.config import load_config
from services.wiring import build_executors

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


def test_executor_threads_run_below_the_loop_thread_and_pictures_below_logins() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    executors = build_executors(load_config(None, environ={}))
    try:
        assert executors.cpu is not executors.pictures
        hashing = executors.cpu.submit(os.getpriority, os.PRIO_PROCESS, 0).result()
        pictures = executors.pictures.submit(os.getpriority, os.PRIO_PROCESS, 0).result()
    finally:
        executors.shutdown()
    assert hashing == min(own + 5, 19)
    assert pictures == min(own + 10, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the calling (IOLoop) thread keeps its priority


def test_the_picture_threads_are_as_many_as_configured() -> None:
    executors = build_executors(load_config(None, environ={"PICTURE_THREADS": "3"}))
    try:
        assert executors.pictures._max_workers == 3  # type: ignore[union-attr]
    finally:
        executors.shutdown()
