"""How a setting is declared: its default and its help text, said once, on its `Config` field.

The help is the one description of a setting: `config.yaml`'s comments and `docs/configuration.md` are generated
from it (`python -m services.config.docs`), as jupyter_server's traitlets carry `help=` and Kratos' settings their
JSON-schema descriptions. A secret is marked as such: it stays out of `repr` (so out of tracebacks and logs), its
default must be empty, and the generated files tell operators to set it in the environment.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from services.config.values import ConfigError


class Section(Protocol):
    """A frozen dataclass of settings: its docstring describes them to operators, under this heading."""

    TITLE: ClassVar[str]
    PAGES: ClassVar[tuple[str, ...]]  # the docs/ pages that explain these settings at length

    def __post_init__(self) -> None:
        """Check its own settings: a bad one stops the server at start."""


def setting(default: Any, help: str, *, secret: bool = False, example: str = "") -> Any:
    """A `Config` field: `default`, the `help` text, and a YAML `example` shown commented out in `config.yaml`."""
    metadata = {"help": help, "secret": secret, "example": example}
    return dataclasses.field(default=default, repr=not secret, metadata=metadata)


def help_of(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("help", ""))


def is_secret(field: dataclasses.Field[Any]) -> bool:
    return bool(field.metadata.get("secret", False))


def example_of(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("example", ""))


def check(ok: bool, name: str, problem: str) -> None:
    """Stop the server at start with one line naming the setting (exit code 2), not on a request later."""
    if not ok:
        raise ConfigError(f"setting {name} {problem}")


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
