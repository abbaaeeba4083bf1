"""Introspection mode: asks POST /oauth/introspect, refuses whatever is not a clear "active" about this very
token, caches an active answer for at most `cache_seconds` (0 by default: every request asks) and never a
failure or a refusal as active."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.parse
from typing import Any

import pytest
from jwt_auth_client import AsyncIntrospectionRevocation, AuthError, IntrospectionRevocation, TokenVerifier

ISSUER = "https://auth.example.test"
AUDIENCE = "python-jwt-auth"
KEY = "k" * 43


def active_for(request: dict[str, Any]) -> dict[str, Any]:
    """What the auth server answers for a live token: its own claims back."""
    token = urllib.parse.parse_qs(request["body"])["token"][0]
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return {"active": True, "sub": payload["sub"], "jti": payload["jti"], "token_use": "access_token"}


def verified(jwks_endpoint: Any, issue: Any, **claims: Any) -> Any:
    return TokenVerifier(ISSUER, AUDIENCE, jwks_endpoint.url).verify(issue(claims))


def code_of(check: Any, token: Any) -> tuple[int, str]:
    with pytest.raises(AuthError) as caught:
        check.check(token)
    return caught.value.status, caught.value.code


def test_it_asks_with_the_key_and_the_token_as_rfc_7662_has_it(jwks_endpoint, introspection_endpoint, issue):
    introspection_endpoint.document = active_for
    token = verified(jwks_endpoint, issue)
    IntrospectionRevocation(introspection_endpoint.url, KEY).check(token)
    asked = introspection_endpoint.requests[0]
    assert asked["method"] == "POST" and asked["headers"]["Authorization"] == f"Bearer {KEY}"
    assert urllib.parse.parse_qs(asked["body"]) == {"token": [token.raw], "token_type_hint": ["access_token"]}


def test_by_default_every_request_asks_so_a_revocation_shows_at_once(jwks_endpoint, introspection_endpoint, issue):
    introspection_endpoint.document = active_for
    check, token = IntrospectionRevocation(introspection_endpoint.url, KEY), verified(jwks_endpoint, issue)
    check.check(token)
    introspection_endpoint.document = {"active": False}
    assert code_of(check, token) == (401, "auth/token-revoked")


def test_an_active_answer_is_reused_for_cache_seconds_and_no_longer(jwks_endpoint, introspection_endpoint, issue):
    introspection_endpoint.document = active_for
    check, token = IntrospectionRevocation(introspection_endpoint.url, KEY, cache_seconds=0.5), \
        verified(jwks_endpoint, issue)
    check.check(token)
    introspection_endpoint.document = {"active": False}
    check.check(token)
    assert len(introspection_endpoint.requests) == 1
    time.sleep(0.6)
    assert code_of(check, token) == (401, "auth/token-revoked")


def test_an_active_answer_is_never_kept_past_the_tokens_exp(jwks_endpoint, introspection_endpoint, issue):
    introspection_endpoint.document = active_for
    expires = int(time.time()) + 2
    token = verified(jwks_endpoint, issue, exp=expires)
    check = IntrospectionRevocation(introspection_endpoint.url, KEY, cache_seconds=10)
    check.check(token)
    time.sleep(expires - time.time() + 0.05)
    check.check(token)
    assert len(introspection_endpoint.requests) == 2


def test_a_refusal_is_remembered_only_as_a_refusal(jwks_endpoint, introspection_endpoint, issue):
    check, token = IntrospectionRevocation(introspection_endpoint.url, KEY, cache_seconds=5), \
        verified(jwks_endpoint, issue)
    assert code_of(check, token) == (401, "auth/token-revoked")
    introspection_endpoint.document = active_for
    assert code_of(check, token) == (401, "auth/token-revoked")


def test_failures_are_unavailable_and_never_remembered(jwks_endpoint, introspection_endpoint, issue):
    token = verified(jwks_endpoint, issue)
    check = IntrospectionRevocation(introspection_endpoint.url, KEY, cache_seconds=5, timeout=0.3)
    for status, document in ((500, {"error": "boom"}), (401, {"code": "auth/admin-key-required"}),
                             (200, {"no": "active"}), (200, "not an object")):
        introspection_endpoint.status, introspection_endpoint.document = status, document
        assert code_of(check, token) == (503, "auth/unavailable"), (status, document)
    introspection_endpoint.status, introspection_endpoint.document, introspection_endpoint.delay = 200, active_for, 1
    assert code_of(check, token) == (503, "auth/unavailable")  # a timeout
    introspection_endpoint.delay = 0
    check.check(token)  # nothing of the above was remembered
    assert code_of(IntrospectionRevocation("http://127.0.0.1:9/introspect", KEY), token) == (503, "auth/unavailable")


def test_an_active_answer_about_another_token_is_refused(jwks_endpoint, introspection_endpoint, issue):
    introspection_endpoint.document = {"active": True, "sub": "someone-else", "jti": "other"}
    assert code_of(IntrospectionRevocation(introspection_endpoint.url, KEY), verified(jwks_endpoint, issue)) == \
        (401, "auth/token-revoked")
    introspection_endpoint.document = lambda request: {**active_for(request), "token_use": "refresh_token"}
    assert code_of(IntrospectionRevocation(introspection_endpoint.url, KEY), verified(jwks_endpoint, issue)) == \
        (401, "auth/token-revoked")


def test_more_than_a_few_seconds_of_cache_is_refused():
    with pytest.raises(ValueError, match="cache_seconds"):
        IntrospectionRevocation("http://auth/introspect", KEY, cache_seconds=60)


def test_concurrent_requests_with_one_token_share_one_call(jwks_endpoint, introspection_endpoint, issue):
    introspection_endpoint.document, introspection_endpoint.delay = active_for, 0.2
    token = verified(jwks_endpoint, issue)

    async def all_at_once() -> None:
        check = AsyncIntrospectionRevocation(introspection_endpoint.url, KEY)
        await asyncio.gather(*(check.check(token) for _ in range(10)))
        introspection_endpoint.delay, introspection_endpoint.document = 0, {"active": False}
        with pytest.raises(AuthError):
            await check.check(token)  # the shared answer was not kept: cache_seconds is 0
        await check.aclose()

    asyncio.run(all_at_once())
    assert len(introspection_endpoint.requests) == 2
