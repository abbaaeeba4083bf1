"""The JWK Set: keys get their one algorithm from their type, and the set is refetched when it is stale or a token
names an unknown kid, at most once per interval whatever the outcome, one fetch for concurrent callers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt_auth_client import AuthError, JwksCache, TokenVerifier
from jwt_auth_client.jwks import verification_key

ISSUER = "https://auth.example.test"
AUDIENCE = "python-jwt-auth"


def test_each_key_type_gets_exactly_one_algorithm(rsa_key, ec_key, ed_key):
    assert [verification_key(key.jwk()).alg for key in (rsa_key, ec_key, ed_key)] == ["RS256", "ES256", "EdDSA"]


def test_keys_that_could_be_abused_are_left_out(rsa_key, ec_key):
    weak = RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key(),  # noqa: S505
                               as_dict=True)
    p384 = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True)
    private = RSAAlgorithm.to_jwk(rsa_key.private, as_dict=True)
    unusable = {
        "RSA below 2048 bits": {**weak, "kid": "weak"},
        "a curve other than P-256": {**p384, "kid": "p384"},
        "an alg its type does not allow": {**rsa_key.jwk(), "alg": "HS256"},
        "an encryption key": {**ec_key.jwk(), "use": "enc"},
        "a private key": {**private, "kid": "private"},
        "no kid": {k: v for k, v in rsa_key.jwk().items() if k != "kid"},
        "an HMAC secret": {"kty": "oct", "k": "c2VjcmV0", "kid": "oct"},
    }
    for reason, jwk in unusable.items():
        assert verification_key(jwk) is None, reason


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def counted_cache(document: dict[str, Any], clock: Clock, fail: list[bool] | None = None) -> tuple[JwksCache, list]:
    fetches: list[float] = []

    def fetch(url: str, timeout: float) -> dict[str, Any]:
        fetches.append(clock.now)
        if fail and fail[0]:
            raise OSError("connection refused")
        return document

    return JwksCache("http://auth/jwks", max_age=300, refetch_interval=10, fetch=fetch, clock=clock), fetches


def test_a_flood_of_unknown_kids_costs_one_fetch_per_interval(rsa_key):
    clock = Clock()
    cache, fetches = counted_cache({"keys": [rsa_key.jwk()]}, clock)
    cache.refresh()  # the first load
    for n in range(50):
        if cache.wants_fetch(f"made-up-{n}"):
            cache.refresh(f"made-up-{n}")
    assert len(fetches) == 2  # the load, then one for all the unknown kids
    clock.now += 10
    assert cache.wants_fetch("made-up-again")
    assert not cache.wants_fetch(rsa_key.kid)  # known and fresh: nothing to fetch


def test_the_limit_holds_when_the_fetch_fails_and_known_keys_stay(rsa_key):
    clock, fail = Clock(), [False]
    cache, fetches = counted_cache({"keys": [rsa_key.jwk()]}, clock, fail)
    cache.refresh()
    fail[0] = True
    clock.now += 301  # stale: refetch, which fails
    cache.refresh()
    for _ in range(20):
        if cache.wants_fetch("new-kid"):
            cache.refresh("new-kid")
    assert len(fetches) == 3  # the load, the failed refresh, one failed try for the unknown kid: no more
    assert not cache.wants_fetch("new-kid") and not cache.wants_fetch()
    assert cache.get(rsa_key.kid) is not None  # an auth server restart does not take the keys away


def test_no_keys_at_all_is_unavailable_not_invalid(issue):
    verifier = TokenVerifier(ISSUER, AUDIENCE, "http://127.0.0.1:9/jwks.json", jwks_timeout=0.5)
    with pytest.raises(AuthError) as caught:
        verifier.verify(issue())
    assert (caught.value.status, caught.value.code) == (503, "auth/unavailable")
    assert caught.value.headers() == {"Retry-After": "1"}


def test_a_new_key_is_fetched_on_first_sight_and_a_removed_one_refused_after_the_refetch(
        jwks_endpoint, issue, rsa_key, ec_key):
    jwks_endpoint.document = {"keys": [rsa_key.jwk()]}
    verifier = TokenVerifier(ISSUER, AUDIENCE, jwks_endpoint.url, jwks_refetch_interval=0.2, jwks_max_age=0.5)
    old = issue()
    verifier.verify(old)
    jwks_endpoint.document = {"keys": [ec_key.jwk()]}  # rotated: the RSA key is gone, the EC key new
    assert verifier.verify(issue(key=ec_key)).key_id == ec_key.kid
    assert len(jwks_endpoint.requests) == 2
    with pytest.raises(AuthError) as caught:
        verifier.verify(old)  # remembered, but its key left the set with that fetch
    assert caught.value.code == "auth/token-invalid"


def test_concurrent_requests_share_one_fetch(jwks_endpoint, issue):
    jwks_endpoint.delay = 0.3
    verifier = TokenVerifier(ISSUER, AUDIENCE, jwks_endpoint.url)
    tokens = [issue() for _ in range(20)]

    async def all_at_once() -> list[Any]:
        return await asyncio.gather(*(verifier.verify_async(token) for token in tokens))

    started = time.monotonic()
    assert len(asyncio.run(all_at_once())) == 20
    assert len(jwks_endpoint.requests) == 1 and time.monotonic() - started < 2
