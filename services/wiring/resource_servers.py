"""The resource servers domain's parts, built from the config and their clients (the root orders the builders)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.config import Config
from services.resource_servers import (
    AdminIntrospectionKeys,
    AnyIntrospectionKeys,
    ConfiguredIntrospectionKeys,
    KeyPublisher,
    ScopedKeyCheck,
    TokenIntrospection,
    TokenRevocation,
    authorization_server_metadata,
)
from services.wiring.sessions import Sessions
from services.wiring.tokens import Tokens


@dataclass(frozen=True)
class ResourceServers:
    metadata: Mapping[str, Any]
    introspection: TokenIntrospection
    revocation: TokenRevocation
    key_publisher: KeyPublisher


def build_resource_servers(*, config: Config, redis: Any, tokens: Tokens, sessions: Sessions,
                           admin_keys: ScopedKeyCheck) -> ResourceServers:
    publisher = KeyPublisher(redis=redis)
    tokens.keyring.add_listener(publisher)  # resource servers in redis mode read the ring's key ids from Redis
    # The one place introspection keys come from: INTROSPECTION_KEYS, then admin keys of scope `introspect`.
    credentials = AnyIntrospectionKeys(ConfiguredIntrospectionKeys(config.introspection_keys),
                                       AdminIntrospectionKeys(admin_keys))
    return ResourceServers(
        metadata=authorization_server_metadata(config),
        introspection=TokenIntrospection(authenticator=sessions.authenticator, credentials=credentials),
        revocation=TokenRevocation(authenticator=sessions.authenticator, sessions=sessions.manager),
        key_publisher=publisher,
    )
