"""The executor's threads (bcrypt) yield the CPU to the IOLoop thread, and only they do."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime import serving


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")
def test_executor_threads_run_five_nice_levels_below_the_loop_thread() -> None:
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with ThreadPoolExecutor(max_workers=1, initializer=serving.lower_thread_priority) as pool:
        worker = pool.submit(os.getpriority, os.PRIO_PROCESS, 0).result()
    assert worker == min(own + 5, 19)
    assert os.getpriority(os.PRIO_PROCESS, 0) == own  # the calling (IOLoop) thread keeps its priority
