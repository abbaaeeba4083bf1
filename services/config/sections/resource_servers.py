"""Resource server settings: who may ask `POST /oauth/introspect` whether a token is live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.setting import check, setting

# 32 characters of `secrets.token_urlsafe` hold 192 bits: no key shorter than that can be guessed online.
MIN_INTROSPECTION_KEY_LENGTH = 32


@dataclass(frozen=True)
class ResourceServerSettings:
    """The team's own APIs that accept our tokens: how they ask this server whether a token is still live."""

    TITLE: ClassVar[str] = "Resource servers"
    PAGES: ClassVar[tuple[str, ...]] = ("resource-servers.md",)

    introspection_keys: tuple[str, ...] = setting(
        (), "Keys that resource servers send as `Authorization: Bearer <key>` to `POST /oauth/introspect`, each at "
        "least 32 characters (`python -c 'import secrets; print(secrets.token_urlsafe(32))'`); empty: nobody may "
        "introspect. Admin keys of scope `introspect` will take their place.", secret=True)

    def __post_init__(self) -> None:
        check(all(len(key) >= MIN_INTROSPECTION_KEY_LENGTH for key in self.introspection_keys),
              "INTROSPECTION_KEYS", f"must hold keys of at least {MIN_INTROSPECTION_KEY_LENGTH} characters each")
