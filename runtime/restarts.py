"""When a child process that died is started again: the one rule for the workers and the embedded redis-server.

After a good run (up at least `stable_after` seconds) a death is an accident: start again at once. A death soon
after a start is a failed start, and the next one waits twice as long as the last (`backoff_base`, doubling, at
most `backoff_max`), so a child that cannot start does not spin; after `max_failed_starts` of them in a row the
caller gives up, because something outside the process (a setting, a file, the disk) must be fixed first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    stable_after: float = 10.0
    max_failed_starts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0


@dataclass
class Restarts:
    """One child's recent history under `policy`."""

    policy: RestartPolicy
    started_at: float = 0.0
    failed_starts: int = 0

    def started(self, now: float) -> None:
        self.started_at = now

    def ended(self, now: float) -> float | None:
        """The child died at `now`: seconds to wait before starting it again, or None to give up."""
        uptime = now - self.started_at
        self.failed_starts = self.failed_starts + 1 if uptime < self.policy.stable_after else 0
        if self.failed_starts >= self.policy.max_failed_starts:
            return None
        if not self.failed_starts:
            return 0.0
        return min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (self.failed_starts - 1))

    def stable(self, now: float) -> bool:
        """Up long enough that its last start counts as a good one."""
        return now - self.started_at >= self.policy.stable_after
