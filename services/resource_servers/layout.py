"""The Redis keys a resource server reads in redis mode: layout 1 of a contract documented in
docs/resource-servers.md, which the client library (client/jwt_auth_client/redis_mode.py) implements and
tests/resource_servers/test_layout_contract.py holds to the keys this server really writes.

Per user, in the user's hash slot (`{<uid>}`), written by services/sessions:

- `auth:{<uid>}:epoch`: the user's token epoch, an integer. A token is live only while its `epoch` claim is at
  least this. Written at every login (so a session never lives without it) and raised by every revocation of all
  the user's tokens (logout everywhere, a password or email change, disabling the account).
- `auth:{<uid>}:session:<sid>`: exists while the session lives; its content is the server's own business.

Once for the deployment, written here:

- `auth:keys`: `{"layout": 1, "kids": [...]}`, the ids of the keys this server verifies with. Every process
  writes it whenever its key ring changes, *before* the change takes effect, so a resource server never trusts a
  key the ring has dropped, and knows a new key before any token carries it. It also carries the layout version:
  a library that does not know the version it reads refuses every token rather than guess.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from services.infra import redis_guarded
from services.outcomes import ServiceUnavailable

log = logging.getLogger("auth.resource_servers")

LAYOUT_VERSION = 1
PUBLISHED_KEYS = "auth:keys"


def published_keys_value(kids: frozenset[str]) -> str:
    return json.dumps({"layout": LAYOUT_VERSION, "kids": sorted(kids)}, separators=(",", ":"))


class KeyPublisher:
    """Keeps `auth:keys` equal to the key ring: a `KeyRingListener` (services/tokens), told every reload round.

    A change is written at once (SET). Between changes each round only restores a key that Redis lost (SET NX),
    so processes that reload a moment apart never undo each other's newer view; a write that failed is retried
    every round until it lands.
    """

    def __init__(self, redis: Any) -> None:
        self._redis = redis
        self._unwritten = False
        self._failing = False

    async def keys_loaded(self, kids: frozenset[str], changed: bool) -> None:
        value = published_keys_value(kids)
        try:
            if changed or self._unwritten:
                self._unwritten = True
                await redis_guarded(self._redis.set(PUBLISHED_KEYS, value))
                self._unwritten = False
            else:
                await redis_guarded(self._redis.set(PUBLISHED_KEYS, value, nx=True))
        except ServiceUnavailable:
            if not self._failing:  # once per outage, not once per round
                log.warning("cannot publish the key ids to Redis; resource servers in redis mode keep the last "
                            "list they saw until it works again")
            self._failing = True
            return
        self._failing = False
