"""The supervisor on its own, with stand-in workers: crash loops end it loudly, a configuration error at once.

It forks, so it runs in a child interpreter, never inside pytest's own process.
"""

from __future__ import annotations

import subprocess
import sys

from support.processes import SERVER

SCRIPT = """
import os, sys, time
from runtime.supervisor import Supervisor

def work(index):
    {work}

exits = []
supervisor = Supervisor(2, work, on_worker_exit=exits.append, stable_after=5, max_failed_starts=3,
                        backoff_base=0.1)
code = supervisor.run()
print(len(exits), len(set(exits)))
sys.exit(code)
"""


def supervise(work: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", SCRIPT.format(work=work)], cwd=SERVER.parent, capture_output=True,
                          text=True, timeout=60)


def test_workers_dying_at_start_make_it_give_up_loudly_instead_of_looping() -> None:
    result = supervise("return 3")
    assert result.returncode == 1
    assert "died 3 times in a row within 5 s of its start (last: exited with code 3): giving up" in result.stderr
    assert "starting another in 0.1 s" in result.stderr and "starting another in 0.2 s" in result.stderr, \
        "the second failure waits twice as long as the first"
    # Every ended worker reached the hook, each with its own pid: at least the 3 failures of the slot that gave up.
    ended, distinct = map(int, result.stdout.split())
    assert ended == distinct >= 4


def test_a_worker_configuration_error_stops_everything_without_retrying() -> None:
    result = supervise("return 2 if index == 0 else time.sleep(60)")
    assert result.returncode == 2
    assert "worker 0 stopped on a configuration error" in result.stderr
    assert "starting another" not in result.stderr
    assert result.stdout.split() == ["2", "2"], "the sleeping worker was stopped and reaped too"


def test_a_worker_that_raises_exits_1_with_its_traceback_and_is_restarted() -> None:
    result = supervise("raise RuntimeError('broken worker')")
    assert result.returncode == 1
    assert "RuntimeError: broken worker" in result.stderr
    assert "worker 0 exited with code 1" in result.stderr
