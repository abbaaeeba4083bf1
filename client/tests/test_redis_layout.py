"""Redis mode's reading of layout 1 (docs/resource-servers.md), without Redis: which keys, and what their values
mean. It fails closed on everything it does not understand. (The real keys, written by the real server, are
tested in the repository's tests/resource_servers/test_layout_contract.py.)"""

from __future__ import annotations

import json
import time
from types import MappingProxyType

import pytest
from jwt_auth_client import AuthError, RedisLayout, VerifiedToken

UID = "0b7c2a4e-8f1d-4c3a-9e2b-5d6f7a8b9c0d"
PUBLISHED = json.dumps({"layout": 1, "kids": ["k1", "k2"]})


def token(epoch: int = 2, kid: str = "k1") -> VerifiedToken:
    now = int(time.time())
    return VerifiedToken(subject=UID, session_id="a" * 32, token_id="j", epoch=epoch, issued_at=now,
                         expires_at=now + 900, fresh=False, key_id=kid, claims=MappingProxyType({}), raw="t")


def refusal(values: list[object], checked: VerifiedToken | None = None) -> tuple[int, str]:
    with pytest.raises(AuthError) as caught:
        RedisLayout().judge(checked or token(), values)
    return caught.value.status, caught.value.code


def test_one_read_names_the_users_two_keys_in_one_slot_and_the_published_keys():
    assert RedisLayout.keys_for(token()) == [f"auth:{{{UID}}}:epoch", f"auth:{{{UID}}}:session:{'a' * 32}",
                                             "auth:keys"]


def test_a_live_session_and_an_epoch_not_newer_than_the_token_allow_it():
    assert RedisLayout().judge(token(epoch=2), ["2", "{}", PUBLISHED]) is True
    assert RedisLayout().judge(token(epoch=3), ["2", "{}", PUBLISHED]) is True


def test_a_revoked_token_is_refused():
    assert refusal(["3", "{}", PUBLISHED]) == (401, "auth/token-revoked")  # the epoch moved on
    assert refusal(["2", None, PUBLISHED]) == (401, "auth/token-revoked")  # the session ended


def test_a_key_the_auth_server_dropped_refuses_its_tokens():
    assert refusal(["2", "{}", PUBLISHED], token(kid="k3")) == (401, "auth/token-invalid")


def test_a_missing_epoch_is_undecided_for_the_caller_to_refuse_or_ask():
    assert RedisLayout().judge(token(), [None, "{}", PUBLISHED]) is False


def test_what_the_layout_does_not_explain_fails_closed():
    assert refusal(["2", "{}", None]) == (503, "auth/unavailable")  # nobody published keys here
    assert refusal(["2", "{}", json.dumps({"layout": 2, "kids": ["k1"]})]) == (503, "auth/unavailable")
    assert refusal(["2", "{}", "not json"]) == (503, "auth/unavailable")
    assert refusal(["two", "{}", PUBLISHED]) == (503, "auth/unavailable")
