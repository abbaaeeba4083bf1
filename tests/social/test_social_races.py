"""Sign-ins racing each other. The suite's in-memory MongoDB suspends inside every call, as the real driver does
(tests/support/mongo.py), so two requests interleave between a read and the write that depends on it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.api import Api
from support.providers import FakeProviders, social_settings

from services.wiring import Services


@pytest.fixture
def settings(fake_providers: FakeProviders, base_url: str) -> dict[str, Any]:
    return social_settings(fake_providers, base_url)


@pytest.mark.parametrize("claims", [{"email": None, "email_verified": None}, {"email_verified": True},
                                    {"email_verified": False}], ids=["no-email", "verified-email", "unverified-email"])
@pytest.mark.gen_test(timeout=30)
async def test_two_simultaneous_first_sign_ins_of_one_identity_make_one_user_and_both_succeed(
        api: Api, services: Services, fake_providers: FakeProviders, claims: dict[str, Any]) -> None:
    """Item "Concurrency": before, both found no user, both made one, and the second answered account-exists."""
    first, second = await asyncio.gather(*(
        api.post("/login/google", {"id_token": fake_providers.id_token(sub="tapped-twice", attempt=n, **claims)})
        for n in (1, 2)))
    assert (first.status, second.status) == (200, 200), (first.body, second.body)
    assert first.json["uid"] == second.json["uid"]
    assert await services.users.count() == 1
    assert len(await services.social.identities.list(first.json["uid"])) == 1
