"""Verify an access token exactly as the auth server does (its services/tokens/service.py, RFC 8725):

- at most 8 KB; a `kid` of the auth server's JWK Set (never `jku`, `x5u`, `jwk` or `x5c`); no `crit` header;
- `alg` exactly the one algorithm of that key, so `none` and HMAC never verify;
- `typ` `at+jwt` (RFC 9068) and `data.type` `access_token`: a refresh token is never an access token;
- the signature, `iss`, `aud`, `exp`, `nbf` and `iat` (with `leeway` seconds of clock skew), integer times,
  and the claims the server always issues (`sub`, `jti`, `sid`, `epoch`) in the shapes it issues them;
- with `max_lifetime`, no lifetime (`exp - iat`) longer than the server grants.

A token verified once is remembered (until its `exp`, and only while its key is still in the set), so a repeated
request skips the signature check; revocation (redis or introspection mode) is checked on every request anyway.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import jwt

from jwt_auth_client.errors import TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_MISSING, UNAVAILABLE, AuthError
from jwt_auth_client.jwks import JwksCache, VerificationKey
from jwt_auth_client.token import VerifiedToken

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (a media type, not a secret)
MAX_TOKEN_BYTES = 8192
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]


class TokenVerifier:
    def __init__(self, issuer: str, audience: str, jwks_url: str, *, leeway: int = 0, max_lifetime: int | None = None,
                 jwks_max_age: float = 300.0, jwks_refetch_interval: float = 10.0, jwks_timeout: float = 5.0,
                 cache_size: int = 50_000, jwks: JwksCache | None = None) -> None:
        """`issuer` and `audience`: the auth server's `JWT_ISSUER` and `JWT_AUDIENCE`; `jwks_url` its
        `/.well-known/jwks.json`; `max_lifetime`: its `JWT_ACCESS_TOKEN_LIFETIME`, to refuse any longer one."""
        self.issuer = issuer
        self.audience = audience
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        self.jwks = jwks or JwksCache(jwks_url, max_age=jwks_max_age, refetch_interval=jwks_refetch_interval,
                                      timeout=jwks_timeout)
        self._verified: OrderedDict[str, tuple[VerifiedToken, VerificationKey]] = OrderedDict()
        self._cache_size = cache_size
        self._jwt = jwt.PyJWT()

    def verify(self, token: str | None) -> VerifiedToken:
        """Blocking: the first call, and a token with an unknown kid, may fetch the JWK Set."""
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        header = _header(token)
        if self.jwks.wants_fetch(header["kid"]):
            self.jwks.refresh(header["kid"])
        return self._decode(token, header)  # type: ignore[arg-type]

    async def verify_async(self, token: str | None) -> VerifiedToken:
        """As `verify`; a fetch of the JWK Set runs in a thread, shared by concurrent requests."""
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        header = _header(token)
        if self.jwks.wants_fetch(header["kid"]):
            await self.jwks.refresh_async(header["kid"])
        return self._decode(token, header)  # type: ignore[arg-type]

    def _remembered(self, token: str | None) -> VerifiedToken | None:
        if not token:
            raise AuthError(TOKEN_MISSING)
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthError(TOKEN_INVALID, "The token is too long.")
        entry = self._verified.get(token)
        if entry is None:
            return None
        verified, key = entry
        if self.jwks.get(verified.key_id) is not key:  # its key left the set (or was replaced): verify afresh
            del self._verified[token]
            return None
        if verified.expires_at + self._leeway <= time.time():
            raise AuthError(TOKEN_EXPIRED)
        return verified

    def _decode(self, token: str, header: dict[str, Any]) -> VerifiedToken:
        key = self.jwks.get(header["kid"])
        if key is None:
            if not self.jwks.loaded:
                raise AuthError(UNAVAILABLE, "The auth server's keys cannot be fetched; please retry shortly.")
            raise AuthError(TOKEN_INVALID, "The token was not signed by a key this server knows.")
        if header.get("alg") != key.alg or "crit" in header:
            raise AuthError(TOKEN_INVALID)
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise AuthError(TOKEN_INVALID, "This endpoint needs an access token.")
        try:
            payload = self._jwt.decode(
                token, key.public_key, algorithms=[key.alg], audience=self.audience, issuer=self.issuer,
                leeway=self._leeway, options={"require": _REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(TOKEN_EXPIRED) from None
        except jwt.PyJWTError:
            raise AuthError(TOKEN_INVALID) from None
        verified = _verified_token(payload, key.kid, token)
        if self._max_lifetime is not None and verified.expires_at - verified.issued_at > self._max_lifetime:
            raise AuthError(TOKEN_INVALID)  # a lifetime the server never grants: not a token it issued
        self._verified[token] = (verified, key)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)
        return verified


def _header(token: str | None) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token or "")
    except jwt.PyJWTError:
        raise AuthError(TOKEN_INVALID) from None
    if not isinstance(header.get("kid"), str):
        raise AuthError(TOKEN_INVALID, "The token was not signed by a key this server knows.")
    return header


def _verified_token(payload: dict[str, Any], kid: str, token: str) -> VerifiedToken:
    """Shape-check the payload as the server does: a correctly signed token with odd claims is still refused."""
    data = payload.get("data")
    sub, jti, sid, epoch = payload.get("sub"), payload.get("jti"), payload.get("sid"), payload.get("epoch")
    if not all(type(payload[name]) is int for name in ("exp", "iat", "nbf")):
        raise AuthError(TOKEN_INVALID)
    if not (isinstance(data, dict) and data.get("type") == "access_token" and _is_id(sub) and _is_id(jti)
            and _is_id(sid) and type(epoch) is int and isinstance(data.get("fresh", False), bool)):
        raise AuthError(TOKEN_INVALID)
    return VerifiedToken(subject=sub, session_id=sid, token_id=jti, epoch=epoch, issued_at=payload["iat"],
                         expires_at=payload["exp"], fresh=data.get("fresh", False), key_id=kid,
                         claims=MappingProxyType(payload), raw=token)


def _is_id(value: object) -> bool:
    """Ids become parts of Redis keys: short plain strings only (the server's own rule)."""
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.replace("-", "").isalnum()
