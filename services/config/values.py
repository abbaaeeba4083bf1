"""Setting values as `config.yaml` and the environment write them, turned into the types `Config` declares.

Kept apart from `sections/`, which says which settings exist and which combinations the server can run with:
this module only knows how one written value (`"30/5m"`, `"true"`, `"a, b"`, a YAML list) becomes a typed one,
and names the setting in the error when it cannot, so a typo stops the server at start.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.config.apps import AndroidApp, parse_android_apps
from services.config.hooks import HookConfig, WebhookConfig, parse_hooks, parse_webhooks
from services.config.providers import ProviderConfig, parse_providers

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*(s|m|h)?\s*$")
_UNIT = {None: 1, "s": 1, "m": 60, "h": 3600}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting is missing, unknown or has a value the server cannot run with."""


@dataclass(frozen=True)
class Rate:
    """`limit` requests per `window` seconds, written `30/300`, `30/5m` or `5/1h` in the config."""

    limit: int
    window: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text)
        if not match or int(match[1]) < 1 or int(match[2]) < 1:
            raise ValueError(f"{text!r} is not a rate like 30/300 (requests per seconds) or 30/5m")
        return cls(int(match[1]), int(match[2]) * _UNIT[match[3]])

    def __str__(self) -> str:
        return f"{self.limit}/{self.window}"

    def as_written(self) -> str:
        """The shortest way to write it in `config.yaml`: `30/5m`, `5/1h`, `7/45`."""
        for unit in ("h", "m"):
            if self.window % _UNIT[unit] == 0:
                return f"{self.limit}/{self.window // _UNIT[unit]}{unit}"
        return str(self)


def read_yaml_settings(path: Path, known: Collection[str]) -> dict[str, object]:
    """The settings a YAML file sets, by UPPER_CASE name; an unknown name is refused (a typo would be ignored)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:  # a folder, unreadable, gone
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a mapping of SETTING: value")
    for key in data:
        if str(key).upper() not in known:
            raise ConfigError(f"{path}: unknown setting {key!r}")
    return {str(key).upper(): value for key, value in data.items() if value is not None}


def coerce(name: str, value: object, hint: object) -> object:
    """Turn a YAML or environment value into the field's type, naming the setting when it cannot."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    try:
        if hint is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if hint is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).strip().replace("_", "")) if isinstance(value, str) else int(value)  # type: ignore[arg-type]
        if hint is float:
            if isinstance(value, bool):
                raise ValueError
            return float(value)  # type: ignore[arg-type]
        if hint is Rate:
            return value if isinstance(value, Rate) else Rate.parse(str(value))
        if typing.get_args(hint)[:1] == (ProviderConfig,):
            return value if isinstance(value, tuple) else parse_providers(value)
        if typing.get_args(hint)[:1] == (HookConfig,):
            return value if isinstance(value, tuple) else parse_hooks(value)
        if typing.get_args(hint)[:1] == (WebhookConfig,):
            return value if isinstance(value, tuple) else parse_webhooks(value)
        if typing.get_args(hint)[:1] == (AndroidApp,):
            return value if isinstance(value, tuple) else parse_android_apps(value)
        if typing.get_origin(hint) is tuple:
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, list | tuple):
                raise ValueError
            return tuple(str(item).strip() for item in items if str(item).strip())
        if hint is str:
            if isinstance(value, dict | list):
                raise ValueError
            return str(value)
    except (TypeError, ValueError) as exc:
        # Each parser's own message says which entry.
        if typing.get_args(hint)[:1] in ((ProviderConfig,), (HookConfig,), (WebhookConfig,), (AndroidApp,)):
            raise ConfigError(f"setting {name}: {exc}") from None
        raise ConfigError(f"setting {name}: {value!r} is not a valid {_type_name(hint)}") from None
    raise ConfigError(f"setting {name}: cannot be set from configuration")


def _type_name(hint: object) -> str:
    if typing.get_origin(hint) is tuple:
        return "list (YAML list or comma-separated)"
    if hint is Rate:
        return "rate like 30/300 (requests per seconds) or 30/5m"
    return {bool: "boolean (true/false)", int: "integer", float: "number", str: "string"}.get(hint, str(hint))  # type: ignore[call-overload]
