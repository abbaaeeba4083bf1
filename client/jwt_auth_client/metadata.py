"""Finding the auth server's parts from its address: its metadata document (RFC 8414)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

WELL_KNOWN = "/.well-known/oauth-authorization-server"


@dataclass(frozen=True)
class ServerMetadata:
    issuer: str
    jwks_uri: str
    introspection_endpoint: str
    revocation_endpoint: str


def discover(auth_server_url: str, timeout: float = 5.0) -> ServerMetadata:
    """Blocking: call it once at start-up (`https://auth.example.com` -> its issuer, keys and endpoints)."""
    url = auth_server_url.rstrip("/") + WELL_KNOWN
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (the operator's URL)
        document = json.loads(response.read())
    return ServerMetadata(issuer=document["issuer"], jwks_uri=document["jwks_uri"],
                          introspection_endpoint=document["introspection_endpoint"],
                          revocation_endpoint=document["revocation_endpoint"])
