"""The auth server's public keys (RFC 7517 JWK Set), fetched and cached.

- Each key gets exactly one algorithm, from its type (RSA of 2048 bits or more: RS256, P-256: ES256, Ed25519:
  EdDSA), never from a token (RFC 8725 §3.1); a JWK whose `alg` says otherwise, or that is not for signatures,
  or that carries a private part, is left out.
- The set is refetched when it is older than `max_age`, and when a token names a kid it lacks; each of the two at
  most once per `refetch_interval`, whatever the outcome, and concurrent callers share one fetch. So a flood of
  made-up kids costs the auth server one request per interval, an auth server that is down is not asked again by
  every request, and a new key's first token is never refused because the set was refreshed a moment before.
- A failed refetch keeps the keys already known: a resource server rides out an auth server restart.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

log = logging.getLogger("jwt_auth_client")

MIN_RSA_BITS = 2048
MAX_JWKS_BYTES = 1 << 20


@dataclass(frozen=True, eq=False)
class VerificationKey:
    kid: str
    alg: str
    public_key: Any


def verification_key(jwk: Mapping[str, Any]) -> VerificationKey | None:
    """The key a JWK describes with the one algorithm its type allows, or None when it is not usable."""
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid or jwk.get("use", "sig") != "sig" or "d" in jwk:
        return None
    try:
        key, alg = _parsed(jwk)
    except (ValueError, TypeError, KeyError):
        return None
    if alg is None or jwk.get("alg", alg) != alg:
        return None
    return VerificationKey(kid=kid, alg=alg, public_key=key)


def _parsed(jwk: Mapping[str, Any]) -> tuple[Any, str | None]:
    text = json.dumps(dict(jwk))
    kty = jwk.get("kty")
    if kty == "RSA":
        key = RSAAlgorithm.from_jwk(text)
        ok = isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS
        return key, "RS256" if ok else None
    if kty == "EC":
        key = ECAlgorithm.from_jwk(text)
        ok = isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
        return key, "ES256" if ok else None
    if kty == "OKP":
        key = OKPAlgorithm.from_jwk(text)
        return key, "EdDSA" if isinstance(key, ed25519.Ed25519PublicKey) else None
    return None, None


def fetch_jwks(url: str, timeout: float) -> dict[str, Any]:
    """GET the JWK Set (blocking; the async path runs it in a thread: it is rare)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 (the operator's URL)
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        document = json.loads(response.read(MAX_JWKS_BYTES + 1)[:MAX_JWKS_BYTES])
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWK Set")
    return document


class JwksCache:
    def __init__(self, url: str, *, max_age: float = 300.0, refetch_interval: float = 10.0, timeout: float = 5.0,
                 fetch: Callable[[str, float], dict[str, Any]] = fetch_jwks,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.url = url
        self._max_age = max_age
        self._interval = refetch_interval
        self._timeout = timeout
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, VerificationKey] = {}
        self._loaded_at: float | None = None  # the last successful fetch
        # The last fetch of each kind, whatever came of it: because the set was old, or for a kid it lacked.
        self._attempted: dict[bool, float] = {False: -math.inf, True: -math.inf}
        self._lock = threading.Lock()
        self._pending: asyncio.Task[None] | None = None

    @property
    def loaded(self) -> bool:
        """Whether keys were ever fetched: without any, a token cannot be judged (503), only refused."""
        return self._loaded_at is not None

    def get(self, kid: str) -> VerificationKey | None:
        return self._keys.get(kid)

    def wants_fetch(self, kid: str | None = None) -> bool:
        return self._reason(kid) is not None

    def _reason(self, kid: str | None) -> bool | None:
        """Why a fetch is due now: False (the set is old or was never had), True (an unknown kid), or None."""
        now = self._clock()
        stale = self._loaded_at is None or now - self._loaded_at >= self._max_age
        if stale and now - self._attempted[False] >= self._interval:
            return False
        if kid is not None and kid not in self._keys and now - self._attempted[True] >= self._interval:
            return True
        return None

    def refresh(self, kid: str | None = None) -> None:
        """Fetch now if the rules allow it (blocking). Failures are logged and keep the keys known so far."""
        with self._lock:
            reason = self._reason(kid)
            if reason is None:
                return  # another thread fetched while this one waited
            self._attempted[reason] = self._clock()
            try:
                document = self._fetch(self.url, self._timeout)
            except Exception as exc:  # any failure: the auth server down, a proxy's HTML page, a broken set
                log.warning("cannot fetch the JWK Set from %s: %s; keeping the %d key(s) known", self.url, exc,
                            len(self._keys))
                return
            self._keys = self._usable(document["keys"])
            self._loaded_at = self._clock()

    async def refresh_async(self, kid: str | None = None) -> None:
        """`refresh` in a thread, shared by every coroutine that needs it at the same time."""
        if not self.wants_fetch(kid):
            return
        pending = self._pending
        if pending is None or pending.done() or pending.get_loop() is not asyncio.get_running_loop():
            pending = self._pending = asyncio.ensure_future(asyncio.to_thread(self.refresh, kid))
        await asyncio.shield(pending)

    @staticmethod
    def _usable(jwks: list[Any]) -> dict[str, VerificationKey]:
        keys: dict[str, VerificationKey] = {}
        for jwk in jwks:
            key = verification_key(jwk) if isinstance(jwk, Mapping) else None
            if key is None:
                log.warning("leaving out a JWK that is not an RS256, ES256 or EdDSA signing key: %s",
                            jwk.get("kid") if isinstance(jwk, Mapping) else type(jwk).__name__)
            elif key.kid not in keys:
                keys[key.kid] = key
        return keys
