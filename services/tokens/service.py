"""Issuing and verifying our JWTs, following RFC 8725.

- The algorithm is never taken from the token: each key in the ring is bound to exactly one algorithm,
  and the token's `alg` must equal it (§3.1). `none` and HMAC can therefore never verify.
- `kid` is only a dictionary lookup in our own ring; `jku`, `x5u`, `jwk` and `x5c` are never followed (§3.10).
- Explicit typing (§3.11): access tokens carry `typ: at+jwt` (RFC 9068), refresh tokens `typ: rt+jwt`,
  and `data.type` must agree, so one kind can never be replayed as the other.
- `iss`, `aud`, `exp`, `nbf`, `iat`, `sub`, `jti` are required and checked (§3.8, §3.9).
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt

from services.outcomes import TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_MISSING, AuthError
from services.tokens.assurance import Assurance
from services.tokens.keyfiles import LoadedKey
from services.tokens.keyring import KeyRing

TokenType = Literal["access_token", "refresh_token"]
HEADER_TYPES: dict[str, str] = {"access_token": "at+jwt", "refresh_token": "rt+jwt"}
MAX_TOKEN_BYTES = 8192
_REQUIRED_CLAIMS = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]
# What `extra_claims` may never set: the registered claims (RFC 7519 §4.1) and every claim a check of ours reads.
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "epoch", "data", "aal", "amr"})


class NoSigningKey(RuntimeError):
    """The ring holds no key with a private half; nothing can be issued until one is added."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says; `epoch` ties it to the user's revocation counter."""

    subject: str
    token_type: TokenType
    fresh: bool
    epoch: int
    session_id: str
    expires_at: int
    issued_at: int
    token_id: str
    key_id: str
    assurance: Assurance = field(default_factory=Assurance)


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: int


class TokenService:
    def __init__(self, keyring: KeyRing, issuer: str, audience: str, access_lifetime: int,
                 refresh_lifetime: int, leeway: int = 0, cache_size: int = 50_000) -> None:
        self._keyring = keyring
        self._issuer = issuer
        self._audience = audience
        self._lifetimes: dict[TokenType, int] = {"access_token": access_lifetime, "refresh_token": refresh_lifetime}
        self._leeway = leeway
        # Verified tokens, keyed by the whole token string: a repeated request with the same token skips
        # the signature check. An entry is only trusted while its exact key object is still in the ring.
        self._verified: OrderedDict[str, tuple[Claims, LoadedKey]] = OrderedDict()
        self._cache_size = cache_size
        self._jwt = jwt.PyJWT()

    def issue(self, subject: str, token_type: TokenType, epoch: int, session_id: str, fresh: bool = False,
              token_id: str | None = None, *, assurance: Assurance | None = None,
              extra_claims: Mapping[str, Any] | None = None) -> IssuedToken:
        """`assurance` goes into access tokens as `aal` and `amr` (refresh tokens leave it to their session's record);
        `extra_claims` adds claims of other features (never one of RESERVED_CLAIMS: ValueError)."""
        return self.sign(self.claims(subject, token_type, epoch, session_id, fresh, token_id, assurance=assurance,
                                     extra_claims=extra_claims))

    def claims(self, subject: str, token_type: TokenType, epoch: int, session_id: str, fresh: bool = False,
               token_id: str | None = None, *, assurance: Assurance | None = None,
               extra_claims: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The payload `issue` signs: what a custom_access_token hook is shown before `sign` (services/hooks/)."""
        if self._keyring.signing_key is None:
            raise NoSigningKey("no signing key in the key ring")
        now = int(time.time())
        payload: dict[str, Any] = {
            "iat": now, "nbf": now, "exp": now + self._lifetimes[token_type],
            "iss": self._issuer, "aud": self._audience, "sub": subject,
            "jti": token_id or str(uuid.uuid4()),
            "sid": session_id,
            "epoch": epoch,
            "data": {"type": token_type, "fresh": fresh},
        }
        if token_type == "access_token" and assurance is not None:  # noqa: S105 (a token kind, not a secret)
            payload["aal"], payload["amr"] = assurance.aal, list(assurance.amr)
        if extra_claims:
            clash = RESERVED_CLAIMS & extra_claims.keys()
            if clash:
                raise ValueError(f"extra claims may not set {sorted(clash)}")
            payload.update(extra_claims)
        return payload

    def sign(self, payload: dict[str, Any]) -> IssuedToken:
        """Sign a payload made by `claims` (its `data.type` says which kind of token it is)."""
        key = self._keyring.signing_key
        if key is None or key.private_key is None:
            raise NoSigningKey("no signing key in the key ring")
        headers = {"kid": key.kid, "typ": HEADER_TYPES[payload["data"]["type"]]}
        token = jwt.encode(payload, key.private_key, algorithm=key.alg, headers=headers)  # type: ignore[arg-type]
        return IssuedToken(token=token, expires_at=payload["exp"])

    def verify(self, token: str | None, expected_type: TokenType) -> Claims:
        """Check everything a token can be checked for without a store; raise AuthError otherwise."""
        if not token:
            raise AuthError(TOKEN_MISSING)
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthError(TOKEN_INVALID, "The token is too long.")
        cached = self._verified.get(token)
        if cached is not None:
            claims, key = cached
            if self._keyring.get(claims.key_id) is key:
                if claims.expires_at + self._leeway <= time.time():
                    raise AuthError(TOKEN_EXPIRED)
                return self._expect_type(claims, expected_type)
            del self._verified[token]
        claims, key = self._decode(token)
        self._remember(token, claims, key)
        return self._expect_type(claims, expected_type)

    def _decode(self, token: str) -> tuple[Claims, LoadedKey]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(TOKEN_INVALID) from None
        kid = header.get("kid")
        key = self._keyring.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise AuthError(TOKEN_INVALID, "The token was not signed by a key this server knows.")
        # RFC 7515 §4.1.11: we implement no extensions, so any `crit` header must be refused.
        if header.get("alg") != key.alg or "crit" in header:
            raise AuthError(TOKEN_INVALID)
        typ = header.get("typ")
        if typ not in HEADER_TYPES.values():
            raise AuthError(TOKEN_INVALID)
        try:
            payload = self._jwt.decode(
                token, key.public_key, algorithms=[key.alg], audience=self._audience, issuer=self._issuer,
                leeway=self._leeway, options={"require": _REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError(TOKEN_EXPIRED) from None
        except jwt.PyJWTError:
            raise AuthError(TOKEN_INVALID) from None
        claims = _claims_from(payload, kid)
        if HEADER_TYPES[claims.token_type] != typ:
            raise AuthError(TOKEN_INVALID)
        if claims.expires_at - claims.issued_at > self._lifetimes[claims.token_type]:
            raise AuthError(TOKEN_INVALID)  # a lifetime we never grant: not a token we issued
        return claims, key

    def _remember(self, token: str, claims: Claims, key: LoadedKey) -> None:
        self._verified[token] = (claims, key)
        if len(self._verified) > self._cache_size:
            self._verified.popitem(last=False)

    @staticmethod
    def _expect_type(claims: Claims, expected_type: TokenType) -> Claims:
        if claims.token_type != expected_type:
            raise AuthError(TOKEN_INVALID, _WRONG_TYPE[expected_type])
        return claims


_WRONG_TYPE: dict[TokenType, str] = {"access_token": "This endpoint needs an access token.",
                                     "refresh_token": "This endpoint needs a refresh token."}


def _claims_from(payload: dict[str, Any], kid: str) -> Claims:
    """Shape-check the payload: a correctly signed token with odd claims is still refused, not a 500."""
    data = payload.get("data")
    sub, jti, sid, epoch = payload.get("sub"), payload.get("jti"), payload.get("sid"), payload.get("epoch")
    # PyJWT accepts any `int()`-able time ("123", 1e30); we only ever issue JSON integers.
    if not all(type(payload[name]) is int for name in ("exp", "iat", "nbf")):
        raise AuthError(TOKEN_INVALID)
    assurance = Assurance.parsed(payload.get("aal"), payload.get("amr"))
    if not (isinstance(data, dict) and data.get("type") in HEADER_TYPES and _is_id(sub) and _is_id(jti)
            and _is_id(sid) and type(epoch) is int and isinstance(data.get("fresh", False), bool)
            and assurance is not None):
        raise AuthError(TOKEN_INVALID)
    return Claims(subject=sub, token_type=data["type"], fresh=data.get("fresh", False), epoch=epoch,
                  session_id=sid, expires_at=int(payload["exp"]), issued_at=int(payload["iat"]), token_id=jti,
                  key_id=kid, assurance=assurance)


def _is_id(value: object) -> bool:
    """Ids become parts of Redis keys and MongoDB filters: short plain strings only."""
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isascii() and value.replace("-", "").isalnum()
