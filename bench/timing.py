"""One call timed in-process, after a warm-up: the median and the worst of some rounds, printed on one line.

Shared by the benchmarks that time a function rather than a server (password_checks.py, admin_hooks.py).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def measure(label: str, run: Callable[[], object], rounds: int, *, width: int = 62, decimals: int = 3) -> None:
    run()  # warm up: imports, caches, dictionaries loaded on first use
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        samples.append((time.perf_counter() - start) * 1000)
    digits = decimals + 5
    print(f"{label:{width}s} median {statistics.median(samples):{digits}.{decimals}f} ms   "
          f"worst {max(samples):{digits}.{decimals}f} ms")
