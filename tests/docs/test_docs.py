"""The README is the user's manual: every error code and every setting must be documented in it."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.config import load_config, setting_names
from services.outcomes import all_outcomes

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_code_is_in_the_readme() -> None:
    missing = [o.code for o in all_outcomes() if f"`{o.code}`" not in README]
    assert not missing, f"codes missing from README.md: {missing}"


def test_every_error_code_row_has_its_status() -> None:
    for outcome in all_outcomes():
        if outcome.status >= 400:
            assert f"| {outcome.status} | `{outcome.code}` |" in README, outcome.code


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [name for name in setting_names() if f"| `{name}` |" not in README]
    assert not missing, f"settings missing from README.md: {missing}"


def test_config_yaml_lists_every_setting_with_its_default() -> None:
    written = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert sorted(written) == sorted(setting_names())
    defaults = load_config(None, environ={})
    from_file = load_config(ROOT / "config.yaml", environ={})
    assert from_file == defaults
