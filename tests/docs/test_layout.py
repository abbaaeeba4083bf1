"""The layout is part of the design (CONTRIBUTING.md): packages by domain with a public surface, small modules,
and the boundaries between the HTTP layer and the logic kept where they are."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = [ROOT / "server.py", *sorted((ROOT / "services").rglob("*.py")), *sorted((ROOT / "handlers").rglob("*.py")),
        *sorted((ROOT / "runtime").rglob("*.py")), *sorted((ROOT / "commands").rglob("*.py"))]
DOMAINS = sorted(p.parent for p in (ROOT / "services").glob("*/__init__.py"))
MAX_LINES = 300


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_passes_300_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: it is doing two jobs"


@pytest.mark.parametrize("package", DOMAINS, ids=lambda p: p.name)
def test_every_domain_package_names_its_public_surface(package: Path) -> None:
    tree = ast.parse((package / "__init__.py").read_text())
    assert ast.get_docstring(tree), f"{package.name}/__init__.py says what the package holds"
    assert any(isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
               for node in tree.body), f"{package.name}/__init__.py lists its public names in __all__"


def test_only_the_root_and_the_shared_vocabulary_sit_at_the_top_of_services() -> None:
    top = sorted(p.name for p in (ROOT / "services").glob("*.py"))
    assert top == ["__init__.py", "context.py", "outcomes.py"]


@pytest.mark.parametrize("path", [p for p in CODE if "services" in p.parts], ids=lambda p: str(p.relative_to(ROOT)))
def test_services_know_nothing_of_tornado_web_or_the_handlers(path: Path) -> None:
    found = imports(path)
    assert "tornado.web" not in found and not any(name.split(".")[0] == "handlers" for name in found)


@pytest.mark.parametrize("path", [p for p in CODE if "services" in p.parts and p.parent.name != "services"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_packages_reach_each_other_through_their_public_surface(path: Path) -> None:
    """`from services.sessions import SessionService`, never a file inside another package."""
    own = path.relative_to(ROOT / "services").parts[0]
    deep = [name for name in imports(path)
            if name.startswith("services.") and name.count(".") >= 2 and name.split(".")[1] != own]
    assert not deep, f"{path.relative_to(ROOT)} imports inside other packages: {deep}"


@pytest.mark.parametrize("path", sorted((ROOT / "handlers").glob("*.py")), ids=lambda p: p.name)
def test_handlers_reach_no_store_or_token_library_directly(path: Path) -> None:
    """Handlers parse, call one service and write: no Redis, MongoDB or JWT calls of their own."""
    assert not {name.split(".")[0] for name in imports(path)} & {"redis", "pymongo", "motor", "jwt"}
