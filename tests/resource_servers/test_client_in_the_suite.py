"""The README's test command (scripts/test, which .ci/run calls from a clean clone) installs jwt_auth_client with
every extra its integrations need and runs the library's own tests in client/tests with the server's."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_suite_collects_the_librarys_own_tests() -> None:
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "client/tests" in options["testpaths"]
    assert any((ROOT / "client" / "tests").glob("test_*.py"))


def test_scripts_test_installs_the_library_with_every_extra_it_has() -> None:
    assert "-r requirements-dev.txt" in (ROOT / "scripts" / "test").read_text()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
    requirements = (ROOT / "requirements-dev.txt").read_text()
    installed = re.search(r"^-e \./client\[([^\]]*)\]", requirements, re.MULTILINE)
    assert installed, "requirements-dev.txt must install ./client (editable, so its tests see the source)"
    extras = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(extras) - {"test"} <= {extra.strip() for extra in installed.group(1).split(",")}
