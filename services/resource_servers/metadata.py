"""The server's metadata (RFC 8414), for resource servers and their libraries to find everything else."""

from __future__ import annotations

from typing import Any

from services.config import SIGNING_ALGORITHMS, Config


def authorization_server_metadata(config: Config) -> dict[str, Any]:
    """Built once. `issuer` is `JWT_ISSUER`, the `iss` of every token; the addresses are under `APP_URL`."""
    base = config.app_url
    return {
        "issuer": config.jwt_issuer,
        "jwks_uri": f"{base}.well-known/jwks.json",
        "introspection_endpoint": f"{base}oauth/introspect",
        # RFC 8414 §2 allows access token types here: `Bearer` is how admin keys are sent.
        "introspection_endpoint_auth_methods_supported": ["Bearer", "client_secret_basic"],
        "revocation_endpoint": f"{base}oauth/revoke",
        "revocation_endpoint_auth_methods_supported": ["none"],  # public clients (RFC 7009 §2.1)
        # Exactly these, each bound to one key type (RFC 8725 §3.1); the name is the one other servers use.
        "access_token_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        # Logins and refreshes are this server's own JSON API, not OAuth grants: say so rather than let the
        # RFC 8414 defaults (authorization_code, implicit) claim what is not there.
        "response_types_supported": [],
        "grant_types_supported": [],
    }
