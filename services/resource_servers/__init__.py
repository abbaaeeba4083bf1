"""Resource servers: the team's own APIs that accept our access tokens. What they need from us to honour instant
revocation: the server's metadata (RFC 8414), token introspection (RFC 7662), revocation by a public client
(RFC 7009), and the Redis keys a resource server reads itself in redis mode (a versioned contract, `layout.py`)."""

from services.resource_servers.credentials import (
    AdminIntrospectionKeys,
    AnyIntrospectionKeys,
    ConfiguredIntrospectionKeys,
    IntrospectionCredentials,
    ScopedKeyCheck,
)
from services.resource_servers.introspection import INACTIVE, TokenIntrospection
from services.resource_servers.layout import LAYOUT_VERSION, PUBLISHED_KEYS, KeyPublisher, published_keys_value
from services.resource_servers.metadata import authorization_server_metadata
from services.resource_servers.revocation import TokenRevocation

__all__ = ["INACTIVE", "LAYOUT_VERSION", "PUBLISHED_KEYS", "AdminIntrospectionKeys", "AnyIntrospectionKeys",
           "ConfiguredIntrospectionKeys", "IntrospectionCredentials", "KeyPublisher", "ScopedKeyCheck",
           "TokenIntrospection", "TokenRevocation", "authorization_server_metadata", "published_keys_value"]
