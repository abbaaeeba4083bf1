"""OpenID Connect providers (Google, Apple, any issuer): discovery, the provider's JWKS, ID token checks.

An ID token is accepted only when (OpenID Connect Core §3.1.3.7, RFC 8725):
- its `alg` is an asymmetric one we allow (never `none` or HS*: an HMAC "signed" with a public key is forgery)
  and fits the key type its `kid` names in the provider's JWKS;
- the signature verifies; `iss` is exactly the configured issuer (or one of the `issuers` listed for it: Google
  uses two spellings), compared as whole strings, never as prefixes; `aud` is one of our client ids (with several
  audiences, `azp` must be ours too); `exp`, `iat` and `sub` are present, times checked with a small leeway;
- `nonce` equals the one we sent, when we sent one.

The JWKS is fetched over HTTP and cached; a token naming a kid we do not have triggers a refetch (the
provider rotated its keys), but at most once per `SOCIAL_JWKS_REFETCH_SECONDS` whatever its outcome, so a
flood of made-up kids cannot turn this server into a denial-of-service amplifier against the provider, nor
hammer one that is down. Requests that need the keys while a fetch is under way wait for that fetch, not for
one each: however many there are, none waits longer than one fetch (two `SOCIAL_HTTP_TIMEOUT_SECONDS` at most,
discovery and JWKS). Keys already known keep verifying tokens while the provider is down.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from services.config import ProviderConfig
from services.outcomes import PROVIDER_TOKEN_INVALID, AuthError, ServiceUnavailable
from services.social.http import ProviderHttp
from services.social.provider import CredentialField, ProviderIdentity

log = logging.getLogger("auth.oidc")
MAX_ID_TOKEN_BYTES = 16 * 1024
DISCOVERY_TTL_SECONDS = 3600
_KTY_OF_ALG = {"RS256": "RSA", "RS384": "RSA", "RS512": "RSA", "PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
               "ES256": "EC", "ES384": "EC", "ES512": "EC", "EdDSA": "OKP"}
ALLOWED_ALGORITHMS = tuple(_KTY_OF_ALG)
_KEY_TYPES = frozenset(_KTY_OF_ALG.values())


@dataclass(frozen=True)
class _ProviderKey:
    key: Any  # the cryptography public key object
    kty: str
    alg: str | None  # what the JWK declares, if anything


class OidcProvider:
    credential_field: CredentialField = "id_token"

    def __init__(self, config: ProviderConfig, http: ProviderHttp, leeway: int, refetch_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._http = http
        self._leeway = leeway
        self._refetch_seconds = refetch_seconds
        self._clock = clock
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: dict[str, _ProviderKey] = {}
        self._jwks_fetch: asyncio.Task[None] | None = None  # the last fetch, finished or under way
        self._jwks_fetch_started = 0.0

    # --- endpoints ----------------------------------------------------------------------------------

    async def authorization_endpoint(self) -> str:
        return self.config.authorization_endpoint or str((await self._metadata())["authorization_endpoint"])

    async def token_endpoint(self) -> str:
        return self.config.token_endpoint or str((await self._metadata())["token_endpoint"])

    async def _metadata(self) -> dict[str, Any]:
        if self._discovery is None or self._clock() - self._discovered_at > DISCOVERY_TTL_SECONDS:
            url = f"{self.config.issuer}/.well-known/openid-configuration"
            answer = await self._http.get(url)
            document = answer.data
            # OpenID Connect Discovery §4.3: the document must name exactly the issuer it was fetched for.
            if (answer.status != 200 or not isinstance(document, dict) or document.get("issuer") != self.config.issuer
                    or not isinstance(document.get("jwks_uri"), str)):
                log.error("provider %s: no valid discovery document at %s (HTTP %s)", self.config.name, url,
                          answer.status)
                raise ServiceUnavailable("The identity provider is misconfigured or unavailable.")
            self._discovery, self._discovered_at = document, self._clock()
        return self._discovery

    # --- keys ---------------------------------------------------------------------------------------

    async def _key(self, kid: str | None) -> _ProviderKey | None:
        key = self._pick(kid)
        if key is None:
            await self._refresh_keys()
            key = self._pick(kid)
        return key

    async def _refresh_keys(self) -> None:
        """Fetch the JWKS unless a fetch started less than `refetch_seconds` ago; join one under way.

        The interval counts from the start of the last attempt, succeeded or not. A failed attempt keeps
        answering 503 until the interval is over: the keys we would need are the ones we could not read."""
        fetch = self._jwks_fetch
        if fetch is None or (fetch.done() and self._clock() - self._jwks_fetch_started >= self._refetch_seconds):
            self._jwks_fetch_started = self._clock()
            fetch = self._jwks_fetch = asyncio.get_running_loop().create_task(self._fetch_jwks())
        await asyncio.wait([fetch])  # never cancels the shared fetch, even if this request is cancelled
        failure = fetch.exception()
        if isinstance(failure, ServiceUnavailable):
            raise ServiceUnavailable("The identity provider's keys cannot be read.")
        if failure is not None:
            raise failure

    def _pick(self, kid: str | None) -> _ProviderKey | None:
        if kid is None:  # allowed only when the provider has exactly one key
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _fetch_jwks(self) -> None:
        answer = await self._http.get(str((await self._metadata())["jwks_uri"]))
        keys = answer.data.get("keys") if answer.status == 200 and isinstance(answer.data, dict) else None
        if not isinstance(keys, list):
            log.error("provider %s: its JWKS answered HTTP %s without keys", self.config.name, answer.status)
            raise ServiceUnavailable("The identity provider's keys cannot be read.")
        parsed: dict[str, _ProviderKey] = {}
        for entry in keys:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or entry.get("kty") not in _KEY_TYPES:
                continue
            try:
                declared = entry.get("alg") if isinstance(entry.get("alg"), str) else None
                parsed[str(entry.get("kid", ""))] = _ProviderKey(jwt.PyJWK(entry).key, entry["kty"], declared)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
                log.warning("provider %s: skipped an unreadable key %s", self.config.name, entry.get("kid"))
        self._keys = parsed

    # --- ID tokens ----------------------------------------------------------------------------------

    async def verify(self, token: str, nonce: str | None = None) -> ProviderIdentity:
        if not token or len(token) > MAX_ID_TOKEN_BYTES:
            raise AuthError(PROVIDER_TOKEN_INVALID)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError(PROVIDER_TOKEN_INVALID) from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALLOWED_ALGORITHMS or "crit" in header or not (kid is None or isinstance(kid, str)):
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token's algorithm is not accepted.")
        key = await self._key(kid)
        if key is None:
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token was not signed by a key of its provider.")
        # The key decides the algorithm family: an RSA key never verifies an EC or HMAC signature.
        if _KTY_OF_ALG[alg] != key.kty or (key.alg or alg) != alg:
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token's algorithm does not match its key.")
        try:
            claims = jwt.decode(token, key.key, algorithms=[alg], leeway=self._leeway,
                                options={"require": ["iss", "aud", "exp", "iat", "sub"], "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token has expired.") from None
        except jwt.PyJWTError:
            raise AuthError(PROVIDER_TOKEN_INVALID) from None
        if not isinstance(claims["iss"], str) or claims["iss"] not in self.config.accepted_issuers:
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token was issued by someone else.")
        self._check_audience(claims)
        if nonce is not None and not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token's nonce does not match.")
        return self._identity(claims)

    def _check_audience(self, claims: dict[str, Any]) -> None:
        ours = self.config.client_ids
        aud = claims["aud"]
        audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not any(a in ours for a in audiences if isinstance(a, str)):
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token was issued to another application.")
        if len(audiences) > 1 and claims.get("azp") not in ours:
            raise AuthError(PROVIDER_TOKEN_INVALID, "The ID token was issued to another application.")

    def _identity(self, claims: dict[str, Any]) -> ProviderIdentity:
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject or len(subject) > 255:
            raise AuthError(PROVIDER_TOKEN_INVALID)
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        # Apple sends "true"/"false" as strings; anything but an explicit yes counts as unverified.
        verified = claims.get("email_verified") in (True, "true") and email is not None
        name = claims.get("name") or " ".join(
            str(claims[part]) for part in ("given_name", "family_name") if isinstance(claims.get(part), str))
        return ProviderIdentity(self.config.name, subject, email, verified, str(name or ""))
