"""Link tokens (verify an address, reset a password): random, stored as a hash, single use, expiring,
replaced by newer ones and made stale by a change of what they were issued for.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from typing import Any

import pytest

from services.tokens.links import RECORD_GRACE, ActionTokenStore, LinkState, ParsedToken, fingerprint, parse_token

UID = str(uuid.uuid4())
BOUND = fingerprint("verify", "omar@quazi.co")


@pytest.fixture
def store(redis: Any) -> ActionTokenStore:
    return ActionTokenStore(redis)


async def issue(store: ActionTokenStore, lifetime: int = 3600, binding: str = BOUND) -> ParsedToken:
    parsed = parse_token(await store.issue(UID, "verify", binding, lifetime))
    assert parsed is not None
    return parsed


@pytest.mark.gen_test
async def test_a_token_is_the_uid_and_256_random_bits_stored_only_as_a_hash(store: ActionTokenStore,
                                                                            redis: Any) -> None:
    text = await store.issue(UID, "verify", BOUND, 3600)
    uid, _, secret = text.partition(".")
    assert uid == UID and len(secret) == 43  # 32 bytes, base64url
    record = await redis.hgetall(ActionTokenStore.key(UID, "verify"))
    assert record["hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(record)
    assert 3600 + RECORD_GRACE - 5 <= await redis.ttl(ActionTokenStore.key(UID, "verify")) <= 3600 + RECORD_GRACE
    assert len({await store.issue(str(uuid.uuid4()), "verify", BOUND, 60) for _ in range(20)}) == 20


@pytest.mark.gen_test
async def test_a_token_works_once(store: ActionTokenStore) -> None:
    token = await issue(store)
    assert await store.check(token, "verify", BOUND) is LinkState.VALID
    assert await store.check(token, "verify", BOUND) is LinkState.VALID  # looking uses nothing up
    assert await store.consume(token, "verify", BOUND) is LinkState.VALID
    assert await store.consume(token, "verify", BOUND) is LinkState.USED
    assert await store.check(token, "verify", BOUND) is LinkState.USED


@pytest.mark.gen_test
async def test_many_clicks_at_once_use_a_token_once(store: ActionTokenStore) -> None:
    token = await issue(store)
    results = await asyncio.gather(*(store.consume(token, "verify", BOUND) for _ in range(20)))
    assert results.count(LinkState.VALID) == 1
    assert set(results) == {LinkState.VALID, LinkState.USED}


@pytest.mark.gen_test
async def test_a_token_expires_and_says_so(store: ActionTokenStore, redis: Any) -> None:
    token = await issue(store, lifetime=60)
    await redis.hset(ActionTokenStore.key(UID, "verify"), "expires_at", int(time.time()) - 1)
    assert await store.check(token, "verify", BOUND) is LinkState.EXPIRED
    assert await store.consume(token, "verify", BOUND) is LinkState.EXPIRED


@pytest.mark.gen_test
async def test_a_newer_token_replaces_the_older(store: ActionTokenStore) -> None:
    older = await issue(store)
    newer = await issue(store)
    assert await store.consume(older, "verify", BOUND) is LinkState.INVALID
    assert await store.consume(newer, "verify", BOUND) is LinkState.VALID


@pytest.mark.gen_test
async def test_a_token_is_stale_once_what_it_was_issued_for_changes(store: ActionTokenStore) -> None:
    token = await issue(store, binding=fingerprint("reset", "omar@quazi.co", "old password hash"))
    assert await store.consume(token, "verify", fingerprint("reset", "omar@quazi.co", "new password hash")) \
        is LinkState.INVALID
    assert await store.check(token, "verify", fingerprint("reset", "omar@quazi.co", "old password hash")) \
        is LinkState.VALID


@pytest.mark.gen_test
async def test_purposes_do_not_mix(store: ActionTokenStore) -> None:
    token = await issue(store)
    assert await store.check(token, "reset", BOUND) is LinkState.INVALID


@pytest.mark.gen_test
async def test_a_wrong_secret_is_invalid(store: ActionTokenStore) -> None:
    token = await issue(store)
    forged = ParsedToken(token.uid, token.secret[:-1] + ("A" if token.secret[-1] != "A" else "B"))
    assert await store.check(forged, "verify", BOUND) is LinkState.INVALID


@pytest.mark.parametrize("text", [
    "", "abc", f"{UID}", f"{UID}.", f"{UID}.short", f"{UID}.{'a' * 44}", f"{UID}.{'a' * 42}+",
    f"../{UID}.{'a' * 43}", f"{UID.upper()}.{'a' * 43}", f"{UID}.{'a' * 43}\n", f"*.{'a' * 43}", None,
])
def test_malformed_tokens_are_refused_before_any_lookup(text: str | None) -> None:
    assert parse_token(text) is None


def test_a_well_formed_token_parses() -> None:
    assert parse_token(f"{UID}.{'a' * 43}") == ParsedToken(UID, "a" * 43)
