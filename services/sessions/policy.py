"""How long a session lives, how many one user holds, and what a rotated refresh token is still worth.

The trade-off of refresh-token reuse (RFC 9700 §4.14.2, OAuth 2.0 Security BCP) is the operator's to make:

- `compatible` (the default): the parent of the current refresh token keeps handing back the current one. Seed
  clients never store the rotated token and keep working; a thief holding that parent keeps working too, until
  the owner's client rotates twice.
- `strict` (GoTrue's reuse interval): the parent is honoured for `REFRESH_TOKEN_REUSE_INTERVAL` seconds after the
  rotation (a lost answer, parallel refreshes), and presenting it later ends the session as a detected reuse.

A session ends when nobody refreshes it for `SESSION_IDLE_TIMEOUT` and, refreshed or not, `SESSION_MAX_LIFETIME`
after its login. Both are carried by the session key's own TTL (re-armed on each refresh, never past the absolute
end), so the per-request check stays one MGET: an ended session's access tokens fail on their next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ReuseMode(Enum):
    COMPATIBLE = "compatible"
    STRICT = "strict"


@dataclass(frozen=True)
class SessionPolicy:
    """`refresh_lifetime` bounds everything: a session nobody refreshed for that long has no valid token left."""

    refresh_lifetime: int
    idle_timeout: int = 0  # 0: the refresh token's lifetime
    max_lifetime: int = 0  # 0: no absolute end
    max_per_user: int = 100
    reuse: ReuseMode = ReuseMode.COMPATIBLE
    reuse_interval: int = 10

    @property
    def idle_ttl(self) -> int:
        """Seconds a session key lives after its last refresh."""
        return min(self.idle_timeout or self.refresh_lifetime, self.refresh_lifetime)

    @property
    def longest_ttl(self) -> int:
        """The longest any session key lives from now: the user's session index is kept at least that long."""
        return min(self.idle_ttl, self.max_lifetime) if self.max_lifetime else self.idle_ttl
