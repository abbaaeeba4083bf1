"""`config.yaml` and `docs/configuration.md`, written from the settings' own help text.

A setting is described once, on its field in `sections/`; both files are generated from it and committed, and
a test fails when either differs from what this module writes. After adding or changing a setting:

    python -m services.config.docs           # rewrite both files
    python -m services.config.docs --check   # only say whether they are current (exit 1 if not)

Only defaults are written, never a loaded value, so nothing set in the environment (where secrets belong) can
reach these files; a secret's default must be empty, or generating fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import sys
import textwrap
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from services.config.hooks import HookConfig
from services.config.providers import ProviderConfig
from services.config.setting import example_of, help_of, is_secret
from services.config.settings import sections
from services.config.values import Rate

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "python -m services.config.docs"
WIDTH = 112
ENVIRONMENT_NOTE_YAML = "Better set in the environment than in this file."
ENVIRONMENT_NOTE_DOCS = "Better set in the environment than in `config.yaml`."

YAML_INTRO = f"""\
Every setting of the server, with its default. Each one can be overridden by an environment variable of the
same name (for example `PORT=9000 python server.py`). Unknown names and bad values stop the server at start.
Rates are requests/seconds (30/300) or with a unit (30/5m, 5/1h); lists are YAML lists here and
comma-separated in the environment. More in docs/configuration.md.

Written by `{REGENERATE}` from the help on each setting (services/config/sections/): change a
value here or in the environment; change a description there, then run the command again."""

DOCS_INTRO = """\
# Configuration

All settings are in `config.yaml` in the working directory (without one, the defaults below apply), and each
can be overridden by an environment variable of the same name (`PORT=9000 BCRYPT_COST=13 python server.py`).
Another file: `python server.py --config path.yaml` or `AUTH_CONFIG=path.yaml`; a file named this way must
exist. `serve --port` and `serve --processes` override `PORT` and `PROCESSES`.

An unknown setting or a bad value stops the server at start, before it touches keys or data, with one line that
names the setting (exit code 2). So does anything else the server cannot start with: a `config.yaml` that is not
UTF-8 text or not a file, `DATA_DIR` or `JWT_KEYS` naming a file, an empty keys folder that cannot be written, a
`HOST` that is not this machine's, a `PORT` already taken, a `MONGO_URL` the driver cannot parse or a MongoDB
that cannot be reached, a `DATA_DIR` another server is using.

How values are written:

- Lists: YAML lists in `config.yaml` (`[https://a.example, https://b.example]`), comma-separated in the
  environment (`CORS_ORIGINS=https://a.example,https://b.example`).
- Rates: requests per seconds, `30/300`, or with a unit: `30/5m`, `5/1h` (`s`, `m`, `h`).
- Booleans: `true` or `false`; in the environment also `1`/`0`, `yes`/`no`, `on`/`off`.
- `SOCIAL_PROVIDERS`: a YAML mapping in `config.yaml`, JSON in the environment.
- In `config.yaml` names are case-insensitive and a setting left empty (`PORT:`) keeps its default; in the
  environment only the upper-case name counts.

Secrets (`SMTP_PASSWORD`, `MAILGUN_API_KEY`, `S3_SECRET_ACCESS_KEY`, the providers' client secrets and keys) are
better set in the environment than in `config.yaml`. Tokens, passwords and other secrets never reach the logs:
query strings such as `?token=` are redacted in the access log, and request bodies (where forms carry tokens and
passwords) are never logged."""


def render_config_yaml() -> str:
    lines = [*_comment(YAML_INTRO), ""]
    for section in sections():
        pages = ", ".join(f"docs/{page}" for page in section.PAGES)
        lines += [f"# --- {section.TITLE} ".ljust(WIDTH, "-"), *_comment(f"{_about(section)} ({pages})"), ""]
        hints = typing.get_type_hints(section)
        for field in dataclasses.fields(section):
            lines += _comment(help_of(field) + (f" {ENVIRONMENT_NOTE_YAML}" if is_secret(field) else ""))
            lines.append(f"{field.name.upper()}:{_yaml_value(_default(field), hints[field.name])}")
            lines += [f"#   {line}".rstrip() for line in example_of(field).splitlines()]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_configuration_md() -> str:
    parts = [f"<!-- Written by `{REGENERATE}` from the help on each setting in services/config/sections/: "
             "edit it there and run the command; a test fails when this file is stale. -->", DOCS_INTRO,
             "\n".join(f"- [{section.TITLE}](#{_anchor(section.TITLE)})" for section in sections())]
    for section in sections():
        pages = " and ".join(f"[{page}]({page})" for page in section.PAGES)
        rows = [f"| `{field.name.upper()}` | {_md_default(_default(field))} | {_md_help(field)} |"
                for field in dataclasses.fields(section)]
        parts += [f"## {section.TITLE}", f"{_about(section)} More in {pages}.",
                  "\n".join(["| setting | default | meaning |", "|---|---|---|", *rows])]
        parts += [_md_example(field) for field in dataclasses.fields(section) if example_of(field)]
    return "\n\n".join(parts) + "\n"


GENERATED: dict[str, Callable[[], str]] = {"config.yaml": render_config_yaml,
                                           "docs/configuration.md": render_configuration_md}


def stale_files(root: Path = ROOT) -> list[str]:
    """The generated files whose text differs from what the settings' help makes of them now."""
    return [name for name, render in GENERATED.items()
            if not (root / name).is_file() or (root / name).read_text(encoding="utf-8") != render()]


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    stale = stale_files(root)
    if args.check:
        for name in stale:
            print(f"{name} is stale: run {REGENERATE}", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        (root / name).write_text(GENERATED[name](), encoding="utf-8")
        print(f"wrote {name}")
    return 0


def _default(field: dataclasses.Field[Any]) -> Any:
    if field.default is dataclasses.MISSING:
        raise ValueError(f"setting {field.name.upper()} needs a default")
    if is_secret(field) and field.default not in ("", ()):
        raise ValueError(f"setting {field.name.upper()} is a secret: its default must be empty")
    return field.default


def _about(section: type) -> str:
    return " ".join(inspect.cleandoc(section.__doc__ or "").split())


def _comment(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        lines += textwrap.wrap(" ".join(paragraph.split()), WIDTH - 2, break_on_hyphens=False) or [""]
        lines.append("")
    return [f"# {line}".rstrip() for line in lines[:-1]]


def _yaml_value(value: Any, hint: Any) -> str:
    if isinstance(value, tuple):
        if not value:
            return " {}" if {ProviderConfig, HookConfig} & set(typing.get_args(hint)) else " []"
        return "".join(f"\n  - {_yaml_scalar(item)}" for item in value)
    return f" {_yaml_scalar(value)}"


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Rate):
        return value.as_written()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and (not value or yaml.safe_load(value) != value):
        return json.dumps(value)  # a JSON string is a YAML double-quoted one
    return str(value)


def _md_default(value: Any) -> str:
    if value in ("", ()):
        return "empty"
    if isinstance(value, tuple):
        return ", ".join(f"`{_yaml_scalar(item)}`" for item in value)
    return f"`{_yaml_scalar(value)}`"


def _md_help(field: dataclasses.Field[Any]) -> str:
    text = help_of(field) + (f" {ENVIRONMENT_NOTE_DOCS}" if is_secret(field) else "")
    return text.replace("|", "\\|")


def _md_example(field: dataclasses.Field[Any]) -> str:
    name = field.name.upper()
    return f"`{name}` in `config.yaml`, for example:\n\n```yaml\n{name}:\n{textwrap.indent(example_of(field), '  ')}```"


def _anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


if __name__ == "__main__":
    sys.exit(main())
