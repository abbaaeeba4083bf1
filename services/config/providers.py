"""Social login providers as configured: the `SOCIAL_PROVIDERS` mapping of `config.yaml`, typed and checked.

Each entry is named by the provider (`google`, `apple`, `facebook`, `github`, or a name of your own for
any OpenID Connect issuer). Well-known names bring their defaults (issuer, endpoints, scopes), so a
Google entry needs only its client ids. A bad entry stops the server at start, like every other setting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

ProviderKind = Literal["oidc", "facebook", "github"]
PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_FIELDS = {"type", "client_id", "client_secret", "issuer", "issuers", "authorization_endpoint", "token_endpoint",
           "api_url", "scopes", "response_mode", "team_id", "key_id", "private_key", "private_key_file"}


@dataclass(frozen=True)
class ProviderConfig:
    """One provider. `client_ids` holds every id whose tokens we accept (iOS, Android and web clients each
    have their own with Google); the first one is used for the browser flow."""

    name: str
    kind: ProviderKind
    client_ids: tuple[str, ...]
    client_secret: str = ""
    issuer: str = ""                  # OpenID Connect: discovery document at <issuer>/.well-known/openid-configuration
    authorization_endpoint: str = ""  # OAuth 2 (Facebook, GitHub); OIDC takes it from discovery unless set
    token_endpoint: str = ""
    api_url: str = ""                 # Facebook Graph API / GitHub REST API base URL
    scopes: tuple[str, ...] = ()
    # Every `iss` an ID token may carry, compared exactly (never as a prefix). Google signs with either
    # "https://accounts.google.com" or "accounts.google.com" and documents both as valid.
    issuers: tuple[str, ...] = ()
    # "form_post": the provider POSTs code and state back to /callback (Apple, whenever name or email is asked).
    response_mode: str = "query"
    # Apple: the client secret is an ES256 JWT signed with this key (parsed once, here) for this team and key id.
    team_id: str = ""
    key_id: str = ""
    signing_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False, compare=False)

    @property
    def accepted_issuers(self) -> tuple[str, ...]:
        return self.issuers or (self.issuer,)

    @property
    def client_id(self) -> str:
        return self.client_ids[0]


# Defaults of the providers this server knows by name; an entry in the config overrides any of them.
KNOWN: dict[str, dict[str, Any]] = {
    "google": {"type": "oidc", "issuer": "https://accounts.google.com", "scopes": ["openid", "email", "profile"],
               "issuers": ["https://accounts.google.com", "accounts.google.com"]},
    "apple": {"type": "oidc", "issuer": "https://appleid.apple.com", "scopes": ["openid", "email", "name"],
              "response_mode": "form_post"},
    "facebook": {"type": "facebook", "authorization_endpoint": "https://www.facebook.com/v19.0/dialog/oauth",
                 "token_endpoint": "https://graph.facebook.com/v19.0/oauth/access_token",
                 "api_url": "https://graph.facebook.com/v19.0", "scopes": ["email", "public_profile"]},
    "github": {"type": "github", "authorization_endpoint": "https://github.com/login/oauth/authorize",
               "token_endpoint": "https://github.com/login/oauth/access_token",
               "api_url": "https://api.github.com", "scopes": ["read:user", "user:email"]},
}


def parse_providers(value: object) -> tuple[ProviderConfig, ...]:
    """`{name: {client_id, ...}}` from YAML, or the same as JSON text from the environment."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of provider name to its settings")
    return tuple(_provider(str(name), entry) for name, entry in value.items())


def _provider(name: str, entry: object) -> ProviderConfig:
    if not PROVIDER_NAME.match(name):
        raise ValueError(f"provider name {name!r} must be lower-case letters, digits, - or _")
    if not isinstance(entry, dict):
        raise ValueError(f"provider {name}: must be a mapping of its settings")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"provider {name}: unknown field(s) {', '.join(sorted(unknown))}")
    defaults = dict(KNOWN.get(name, {"type": "oidc"}))
    if "issuer" in entry:  # another issuer (a test double, a proxy): the known issuer's aliases do not apply
        defaults.pop("issuers", None)
    merged = {**defaults, **{k: v for k, v in entry.items() if v is not None}}
    kind = merged.get("type")
    if kind not in ("oidc", "facebook", "github"):
        raise ValueError(f"provider {name}: type must be oidc, facebook or github")
    client_ids = _strings(merged.get("client_id"), name, "client_id")
    if not client_ids:
        raise ValueError(f"provider {name}: client_id is required")
    config = ProviderConfig(
        name=name, kind=kind, client_ids=client_ids, client_secret=str(merged.get("client_secret") or ""),
        issuer=str(merged.get("issuer") or "").rstrip("/"),
        authorization_endpoint=str(merged.get("authorization_endpoint") or ""),
        token_endpoint=str(merged.get("token_endpoint") or ""), api_url=str(merged.get("api_url") or "").rstrip("/"),
        scopes=_strings(merged.get("scopes"), name, "scopes"),
        issuers=_strings(merged.get("issuers"), name, "issuers"),
        response_mode=str(merged.get("response_mode") or "query"),
        team_id=str(merged.get("team_id") or "").strip(), key_id=str(merged.get("key_id") or "").strip(),
    )
    if any(merged.get(name) for name in ("team_id", "key_id", "private_key", "private_key_file")):
        if kind != "oidc" or not (config.team_id and config.key_id):
            raise ValueError(f"provider {name}: a signed client secret (Apple) needs team_id, key_id and "
                             "private_key or private_key_file, on an OpenID Connect provider")
        if config.client_secret:
            raise ValueError(f"provider {name}: client_secret and a signing key exclude each other")
        key = load_signing_key(merged.get("private_key"), merged.get("private_key_file"), f"provider {name}")
        config = replace(config, signing_key=key)
    if config.response_mode not in ("query", "form_post"):
        raise ValueError(f"provider {name}: response_mode must be query or form_post")
    if config.response_mode == "form_post" and kind != "oidc":
        raise ValueError(f"provider {name}: response_mode form_post is for OpenID Connect providers")
    if kind == "oidc" and not config.issuer.startswith(("https://", "http://")):
        raise ValueError(f"provider {name}: an OpenID Connect provider needs its issuer URL")
    if kind == "oidc" and "openid" not in config.scopes:
        config = replace(config, scopes=("openid", *config.scopes))
    if kind != "oidc" and not config.api_url:
        raise ValueError(f"provider {name}: api_url is required")
    return config


def _strings(value: object, name: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(item, str | int) for item in items):
        raise ValueError(f"provider {name}: {field} must be a string or a list of strings")
    return tuple(str(item).strip() for item in items if str(item).strip())


def load_signing_key(pem: str | None, path: str | None, where: str) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key from PEM text or a PEM file (`.p8`); ValueError says what is wrong."""
    if bool(pem) == bool(path):
        raise ValueError(f"{where}: set exactly one of private_key and private_key_file")
    if path:
        try:
            pem = Path(path).expanduser().read_text()
        except OSError as exc:
            raise ValueError(f"{where}: cannot read private_key_file {path}: {exc.strerror}") from None
    try:
        key = load_pem_private_key(str(pem).strip().encode(), password=None)
    except (ValueError, TypeError):
        raise ValueError(f"{where}: the private key is not an unencrypted PEM private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError(f"{where}: the private key must be an EC P-256 key (ES256), as Apple issues")
    return key
