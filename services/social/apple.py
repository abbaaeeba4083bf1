"""Apple's OAuth `client_secret`: not a fixed string but a short-lived ES256 JWT we sign ourselves.

Apple's token endpoint takes a JWT signed with the developer's private key ("Sign in with Apple" key, a P-256
EC key downloaded as `AuthKey_<key id>.p8`): header `kid` = the key id, claims `iss` = the team id, `iat`,
`exp` (Apple allows at most six months; ours live an hour), `aud` = https://appleid.apple.com and `sub` =
the client id the code is exchanged for. The key is parsed once, when the config is read; a secret is made
on first use and again shortly before it expires.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

APPLE_AUDIENCE = "https://appleid.apple.com"
SECRET_LIFETIME = 3600       # seconds; Apple accepts up to 15,777,000 (six months)
RENEW_BEFORE = 300           # a secret this close to its expiry is replaced, so none expires in flight
MAX_LIFETIME = 15_777_000


class AppleClientSecret:
    """Makes and caches the client secret JWT for one client id."""

    def __init__(self, team_id: str, key_id: str, client_id: str, key: ec.EllipticCurvePrivateKey,
                 lifetime: int = SECRET_LIFETIME, renew_before: int = RENEW_BEFORE,
                 clock: Callable[[], float] = time.time) -> None:
        if not 0 < renew_before < lifetime <= MAX_LIFETIME:
            raise ValueError("the secret's lifetime must be longer than its renewal margin and at most six months")
        self._team_id = team_id
        self._key_id = key_id
        self._client_id = client_id
        self._key = key
        self._lifetime = lifetime
        self._renew_before = renew_before
        self._clock = clock
        self._secret = ""
        self._expires_at = 0

    def current(self) -> str:
        now = int(self._clock())
        if not self._secret or now >= self._expires_at - self._renew_before:
            self._expires_at = now + self._lifetime
            claims = {"iss": self._team_id, "iat": now, "exp": self._expires_at, "aud": APPLE_AUDIENCE,
                      "sub": self._client_id}
            self._secret = jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self._key_id})
        return self._secret
