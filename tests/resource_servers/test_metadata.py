"""GET /.well-known/oauth-authorization-server (RFC 8414): where a resource server finds everything else, and
the library's `discover` reading it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from jwt_auth_client import discover
from support.api import Api, with_settings
from support.openapi import assert_documented


@with_settings(app_url="https://auth.example.com/", jwt_issuer="https://auth.example.com")
@pytest.mark.gen_test(timeout=30)
async def test_the_metadata_names_the_issuer_and_every_endpoint_under_app_url(api: Api,
                                                                             settings: dict[str, Any]) -> None:
    response = await api.get("/.well-known/oauth-authorization-server")
    document = assert_documented("/.well-known/oauth-authorization-server", "get", response.status,
                                 response.headers, response.body)
    assert document == {
        "issuer": "https://auth.example.com",
        "jwks_uri": "https://auth.example.com/.well-known/jwks.json",
        "introspection_endpoint": "https://auth.example.com/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": ["Bearer", "client_secret_basic"],
        "revocation_endpoint": "https://auth.example.com/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["none"],
        "access_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
        "response_types_supported": [],
        "grant_types_supported": [],
    }


@pytest.mark.gen_test(timeout=30)
async def test_the_library_discovers_the_server_from_its_address(http_port: int, http_server: Any,
                                                                config: Any) -> None:
    found = await asyncio.to_thread(discover, f"http://127.0.0.1:{http_port}")
    assert found.issuer == config.jwt_issuer
    assert found.introspection_endpoint == f"{config.app_url}oauth/introspect"
