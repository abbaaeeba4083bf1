"""Requirements on a live token (fresh, aal, role) and refusals as the auth server words them: its JSON error
shape and codes, with the RFC 6750 headers a resource server owes its clients."""

from __future__ import annotations

import time
from types import MappingProxyType
from typing import Any

import pytest
from jwt_auth_client import AuthError, VerifiedToken, bearer_token, require_aal, require_fresh, require_role
from jwt_auth_client.errors import TOKEN_MISSING, TOKEN_REVOKED, UNAVAILABLE


def token(fresh: bool = False, **claims: Any) -> VerifiedToken:
    now = int(time.time())
    return VerifiedToken(subject="u", session_id="s", token_id="j", epoch=0, issued_at=now, expires_at=now + 60,
                         fresh=fresh, key_id="k", claims=MappingProxyType(claims), raw="t")


def refused(requirement: Any, checked: VerifiedToken) -> tuple[int, str]:
    with pytest.raises(AuthError) as caught:
        requirement(checked)
    return caught.value.status, caught.value.code


def test_fresh_is_the_servers_fresh_token_rule():
    require_fresh()(token(fresh=True))
    assert refused(require_fresh(), token()) == (401, "auth/fresh-token-required")


def test_an_aal_is_at_least_that_level_and_tokens_without_one_are_aal1():
    require_aal("aal2")(token(aal="aal2"))
    require_aal("aal1")(token())
    assert refused(require_aal("aal2"), token()) == (403, "auth/mfa-required")
    assert refused(require_aal("aal2"), token(aal="aal9")) == (403, "auth/mfa-required")
    with pytest.raises(ValueError):
        require_aal("high")


def test_a_role_comes_from_app_metadata_only():
    require_role("editor", "admin")(token(app_metadata={"roles": ["editor"]}))
    assert refused(require_role("admin"), token(app_metadata={"roles": ["editor"]})) == \
        (403, "auth/insufficient-scope")
    assert refused(require_role("admin"), token(roles=["admin"])) == (403, "auth/insufficient-scope")


def test_refusals_speak_the_servers_json_and_rfc_6750():
    revoked = AuthError(TOKEN_REVOKED)
    assert revoked.body() == {"status": "error", "code": "auth/token-revoked",
                              "message": "The token has been revoked; please log in again."}
    assert revoked.headers()["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert AuthError(TOKEN_MISSING).headers() == {"WWW-Authenticate": "Bearer"}
    assert AuthError(UNAVAILABLE).headers() == {"Retry-After": "1"}
    with pytest.raises(AuthError) as caught:
        require_role("admin")(token())
    assert caught.value.headers()["WWW-Authenticate"].startswith('Bearer error="insufficient_scope"')


def test_the_token_comes_from_either_header_the_server_reads():
    assert bearer_token({"Authorization": "Bearer abc"}) == "abc"
    assert bearer_token({"python-auth": "Bearer  abc"}) == "abc"  # the seed's double space
    assert bearer_token({"Authorization": "Basic abc"}) is None
    assert bearer_token({}) is None
