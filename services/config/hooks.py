"""Auth hooks and webhooks as configured: the `HOOKS` mapping and the `WEBHOOKS` list, typed and checked.

A hook is one synchronous call the server makes while it serves a request (`before_signup`, ...); a webhook is
an endpoint that receives events after the fact, from a durable queue. Both are signed per the Standard Webhooks
specification with the endpoint's own secret (`whsec_` and base64, as Standard Webhooks and Svix write them), so
a bad secret stops the server at start rather than failing every call.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

HOOK_NAMES = ("before_signup", "custom_access_token", "send_email", "send_sms")
WEBHOOK_EVENTS = ("user.created", "user.updated", "user.deleted", "user.disabled", "user.enabled",
                  "login.succeeded", "login.failed", "session.revoked", "password.changed", "email.changed",
                  "refresh.reuse_detected", "mfa.factor_added", "mfa.factor_removed")
FailurePolicy = Literal["reject", "allow"]
SECRET_PREFIX = "whsec_"  # noqa: S105 (the marker of a secret, not one)
MIN_SECRET_BYTES = 24  # Standard Webhooks: secrets of 24 to 64 random bytes
_HOOK_FIELDS = {"url", "secret", "timeout_seconds", "on_failure"}
_WEBHOOK_FIELDS = {"url", "secret", "events"}


@dataclass(frozen=True)
class HookConfig:
    name: str
    url: str
    secret: str = field(repr=False)
    timeout_seconds: float = 2.0
    on_failure: FailurePolicy = "reject"


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str = field(repr=False)
    events: tuple[str, ...]


def parse_hooks(value: Any) -> tuple[HookConfig, ...]:
    """`{before_signup: {url, secret, timeout_seconds, on_failure}, ...}` (JSON text in the environment)."""
    value = _structure(value)
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of hook name to {url, secret, timeout_seconds, on_failure}")
    hooks = []
    for name, entry in value.items():
        if name not in HOOK_NAMES:
            raise ValueError(f"unknown hook {name!r}; the hooks are {', '.join(HOOK_NAMES)}")
        if not isinstance(entry, dict):
            raise ValueError(f"hook {name}: must be a mapping of {', '.join(sorted(_HOOK_FIELDS))}")
        _known_fields(f"hook {name}", entry, _HOOK_FIELDS)
        timeout = entry.get("timeout_seconds", 2.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 30:
            raise ValueError(f"hook {name}: timeout_seconds must be a number of seconds above 0, at most 30")
        policy = entry.get("on_failure", "reject")
        if policy not in ("reject", "allow"):
            raise ValueError(f"hook {name}: on_failure must be reject or allow")
        hooks.append(HookConfig(name=name, url=_url(f"hook {name}", entry), secret=_secret(f"hook {name}", entry),
                                timeout_seconds=float(timeout), on_failure=policy))
    return tuple(hooks)


def parse_webhooks(value: Any) -> tuple[WebhookConfig, ...]:
    """`[{url, secret, events: [...]}, ...]` (JSON text in the environment)."""
    value = _structure(value)
    if not isinstance(value, list):
        raise ValueError("must be a list of {url, secret, events}")
    endpoints = []
    for index, entry in enumerate(value):
        where = f"webhook {index + 1}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: must be a mapping of url, secret and events")
        _known_fields(where, entry, _WEBHOOK_FIELDS)
        events = entry.get("events")
        if not isinstance(events, list) or not events or not all(isinstance(event, str) for event in events):
            raise ValueError(f"{where}: events must be a list of event names, e.g. [user.created]")
        unknown = sorted(set(events) - set(WEBHOOK_EVENTS) - {"*"})
        if unknown:
            raise ValueError(f"{where}: unknown events {unknown}; the events are {', '.join(WEBHOOK_EVENTS)} or *")
        endpoints.append(WebhookConfig(url=_url(where, entry), secret=_secret(where, entry),
                                       events=tuple(dict.fromkeys(events))))
    return tuple(endpoints)


def _structure(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value) if value.strip() else []
        except ValueError:
            raise ValueError("must be YAML in config.yaml or JSON in the environment") from None
    return value


def _known_fields(where: str, entry: dict[str, Any], known: set[str]) -> None:
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(f"{where}: unknown fields {unknown}")


def _url(where: str, entry: dict[str, Any]) -> str:
    url = entry.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise ValueError(f"{where}: url must be an http(s) URL")
    return url


def _secret(where: str, entry: dict[str, Any]) -> str:
    secret = entry.get("secret")
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        raise ValueError(f"{where}: secret must be whsec_ and base64 (e.g. from `openssl rand -base64 32`)")
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: secret must be whsec_ and base64") from None
    if len(raw) < MIN_SECRET_BYTES:
        raise ValueError(f"{where}: secret must hold at least {MIN_SECRET_BYTES} random bytes")
    return secret
