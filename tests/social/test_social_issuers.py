"""Which `iss` values an ID token may carry: the configured list, each compared as a whole string."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import Api, assert_error
from support.providers import FakeProviders, social_settings

from services.config.providers import KNOWN, parse_providers

GOOGLE_ISSUERS = ["https://accounts.google.com", "accounts.google.com"]


@pytest.fixture
def settings(fake_providers: FakeProviders, base_url: str) -> dict[str, Any]:
    """Google's own defaults, with discovery and keys served by the fake issuer."""
    values = social_settings(fake_providers, base_url)
    values["social_providers"]["google"]["issuers"] = KNOWN["google"]["issuers"]
    return values


def test_google_accepts_both_of_its_documented_issuers_by_default() -> None:
    (google,) = parse_providers({"google": {"client_id": "x"}})
    assert google.issuer == "https://accounts.google.com" and google.accepted_issuers == tuple(GOOGLE_ISSUERS)
    # Another issuer set by hand (a proxy, a test double) is the only one accepted unless issuers says more.
    (moved,) = parse_providers({"google": {"client_id": "x", "issuer": "https://idp.example.com"}})
    assert moved.accepted_issuers == ("https://idp.example.com",)
    (apple,) = parse_providers({"apple": {"client_id": "x"}})
    assert apple.accepted_issuers == ("https://appleid.apple.com",) and apple.response_mode == "form_post"


@pytest.mark.parametrize("issuer", GOOGLE_ISSUERS)
@pytest.mark.gen_test
async def test_either_google_issuer_signs_in(api: Api, fake_providers: FakeProviders, issuer: str) -> None:
    response = await api.post("/login/google", {"id_token": fake_providers.id_token(iss=issuer)})
    assert response.status == 200, response.body


@pytest.mark.parametrize("issuer", [
    "https://accounts.google.com.evil.com", "https://accounts.google.com/", "accounts.google.com.evil.com",
    "https://accounts.google", "http://accounts.google.com", "https://evil.example.com",
])
@pytest.mark.gen_test
async def test_any_other_issuer_is_refused(api: Api, fake_providers: FakeProviders, issuer: str) -> None:
    response = await api.post("/login/google", {"id_token": fake_providers.id_token(iss=issuer)})
    assert_error(response, 401, "auth/provider-token-invalid")

