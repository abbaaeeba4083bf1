"""TokenVerifier checks a token exactly as the auth server does (RFC 8725): every forgery or oddity the server
refuses, the library refuses, with the server's own codes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt_auth_client import AuthError, TokenVerifier

ISSUER = "https://auth.example.test"
AUDIENCE = "python-jwt-auth"


def verifier_for(endpoint: Any, **options: Any) -> TokenVerifier:
    return TokenVerifier(ISSUER, AUDIENCE, endpoint.url, **options)


def refused(verifier: TokenVerifier, token: str | None) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    return caught.value.code


def test_a_token_of_each_key_type_verifies_and_says_who_it_is(jwks_endpoint, issue, rsa_key, ec_key, ed_key):
    verifier = verifier_for(jwks_endpoint)
    for key in (rsa_key, ec_key, ed_key):
        token = issue({"sub": "0b7c2a4e-8f1d-4c3a-9e2b-5d6f7a8b9c0d", "epoch": 3}, key=key)
        verified = verifier.verify(token)
        assert (verified.subject, verified.epoch, verified.key_id, verified.fresh) == (
            "0b7c2a4e-8f1d-4c3a-9e2b-5d6f7a8b9c0d", 3, key.kid, False)
        assert verified.aal == "aal1" and verified.roles == frozenset() and token not in repr(verified)


def test_claims_other_issues_add_are_read_when_present(jwks_endpoint, issue):
    token = issue({"aal": "aal2", "amr": ["pwd", "otp"], "app_metadata": {"roles": ["editor", 7]},
                   "data": {"type": "access_token", "fresh": True}})
    verified = verifier_for(jwks_endpoint).verify(token)
    assert (verified.aal, verified.amr, verified.roles, verified.fresh) == ("aal2", ("pwd", "otp"),
                                                                             frozenset({"editor"}), True)


def test_the_algorithm_comes_from_the_key_never_from_the_token(jwks_endpoint, issue, rsa_key, ec_key):
    verifier = verifier_for(jwks_endpoint)
    unsigned = jwt.encode({"sub": "x"}, None, algorithm="none", headers={"kid": rsa_key.kid, "typ": "at+jwt"})
    assert refused(verifier, unsigned) == "auth/token-invalid"
    public_pem = rsa_key.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    hmac_forgery = jwt.api_jws.PyJWS()
    hmac_forgery._algorithms["HS256"].prepare_key = lambda key: key  # the classic RS256 -> HS256 confusion
    forged = hmac_forgery.encode(b'{"sub":"x"}', public_pem, algorithm="HS256", headers={"kid": rsa_key.kid,
                                                                                        "typ": "at+jwt"})
    assert refused(verifier, forged) == "auth/token-invalid"
    # An ES256 token that names the RSA key's kid: the kid's one algorithm is RS256.
    assert refused(verifier, issue(key=ec_key, headers={"kid": rsa_key.kid})) == "auth/token-invalid"


def test_headers_the_server_refuses_are_refused(jwks_endpoint, issue):
    verifier = verifier_for(jwks_endpoint)
    assert refused(verifier, issue(headers={"typ": "rt+jwt"})) == "auth/token-invalid"
    assert refused(verifier, issue(headers={"typ": "JWT"})) == "auth/token-invalid"
    assert refused(verifier, issue(headers={"crit": ["exp"]})) == "auth/token-invalid"
    assert refused(verifier, issue(headers={"kid": "elsewhere", "jku": "https://evil.example/jwks"})) == \
        "auth/token-invalid"


def test_claims_the_server_refuses_are_refused(jwks_endpoint, issue):
    verifier = verifier_for(jwks_endpoint)
    now = int(time.time())
    refusals = {
        "wrong issuer": issue({"iss": "https://other.example"}),
        "wrong audience": issue({"aud": "another-api"}),
        "audience list": issue({"aud": [AUDIENCE, "another-api"]}),
        "not yet valid": issue({"nbf": now + 60}),
        "issued in the future": issue({"iat": now + 60}),
        "string times": issue({"exp": str(now + 900)}),
        "a refresh token's data": issue({"data": {"type": "refresh_token"}}),
        "no epoch": issue(drop=("epoch",)),
        "no session": issue(drop=("sid",)),
        "no jti": issue(drop=("jti",)),
        "a sub that is no id": issue({"sub": "../../etc"}),
        "fresh that is no boolean": issue({"data": {"type": "access_token", "fresh": "yes"}}),
    }
    for reason, token in refusals.items():
        assert refused(verifier, token) == "auth/token-invalid", reason
    assert refused(verifier, issue({"exp": now - 1, "iat": now - 901, "nbf": now - 901})) == "auth/token-expired"
    assert refused(verifier, None) == "auth/token-missing"
    assert refused(verifier, "x" * 9000) == "auth/token-invalid"
    assert refused(verifier, "not.a.jwt") == "auth/token-invalid"


def test_a_forged_signature_is_refused(jwks_endpoint, issue, rsa_key):
    impostor = type(rsa_key)(rsa_key.kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert refused(verifier_for(jwks_endpoint), issue(key=impostor)) == "auth/token-invalid"


def test_leeway_and_max_lifetime_apply_as_on_the_server(jwks_endpoint, issue):
    now = int(time.time())
    just_expired = issue({"exp": now - 5, "iat": now - 905, "nbf": now - 905})
    assert verifier_for(jwks_endpoint, leeway=30).verify(just_expired).expires_at == now - 5
    long_lived = issue({"exp": now + 86_400})
    assert refused(verifier_for(jwks_endpoint, max_lifetime=900), long_lived) == "auth/token-invalid"


def test_a_remembered_token_still_expires(jwks_endpoint, issue):
    verifier = verifier_for(jwks_endpoint)
    expires = int(time.time()) + 2
    token = issue({"exp": expires})
    verifier.verify(token)
    time.sleep(expires - time.time() + 0.05)
    assert refused(verifier, token) == "auth/token-expired"


def test_verify_async_agrees_with_verify(jwks_endpoint, issue):
    verifier = verifier_for(jwks_endpoint)
    token = issue()

    async def both() -> None:
        assert (await verifier.verify_async(token)).token_id == verifier.verify(token).token_id
        with pytest.raises(AuthError):
            await verifier.verify_async(issue(headers={"typ": "rt+jwt"}))

    asyncio.run(both())
