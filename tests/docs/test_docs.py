"""The manual stays true to the code: README.md is the front door, docs/ says the rest, CONTRIBUTING.md the layout.

Every code the API answers with and every endpoint is in docs/api.md, every link leads somewhere, every path the
docs name exists, and CONTRIBUTING.md names every package. (The settings are documented in
docs/configuration.md, generated from the config fields' help text and checked by the configuration tests.)
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from services.config import load_config, setting_names
from services.outcomes import all_outcomes

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text()
API = (DOCS / "api.md").read_text()
MANUAL = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]
WITH_LINKS = [*MANUAL, ROOT / "bench" / "README.md", ROOT / "keys" / "README.md"]

FENCED = re.compile(r"^```.*?^```$", re.DOTALL | re.MULTILINE)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)\)")
CODE_ROW = re.compile(r"^\| (\d{3}) \| `(auth/[a-z-]+)` \|", re.MULTILINE)
PATH_IN_CODE = re.compile(r"`((?:services|handlers|runtime|tests|bench|templates|static|scripts|docs|keys|\.ci)"
                          r"/[A-Za-z0-9_./-]*)(?:::\w+)?`")


def prose(text: str) -> str:
    """The text without code: links and headings inside code blocks and spans are not links and headings."""
    return INLINE_CODE.sub("", FENCED.sub("", text))


def anchors(text: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", FENCED.sub("", text), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower().replace("`", "")).replace(" ", "-")
        candidate, repeat = slug, 0
        while candidate in found:
            repeat += 1
            candidate = f"{slug}-{repeat}"
        found.add(candidate)
    return found


def relative_links(page: Path) -> list[str]:
    return [link for link in LINK.findall(prose(page.read_text())) if not re.match(r"[a-z]+:", link)]


def section(text: str, heading: str) -> str:
    start = text.index(f"\n{heading}\n")
    level = heading.split(" ", 1)[0]
    end = re.search(rf"^#{{1,{len(level)}}} ", text[start + len(heading) + 2:], re.MULTILINE)
    return text[start: start + len(heading) + 2 + end.start()] if end else text[start:]


def test_every_page_linked_from_the_index_exists_and_every_page_is_linked() -> None:
    linked = {(DOCS / link.split("#")[0]).resolve() for link in relative_links(DOCS / "index.md")
              if link.split("#")[0].endswith(".md")}
    missing = [str(page) for page in linked if not page.exists()]
    assert not missing, f"docs/index.md links to pages that do not exist: {missing}"
    orphans = [page.name for page in DOCS.glob("*.md") if page.name != "index.md" and page.resolve() not in linked]
    assert not orphans, f"pages not linked from docs/index.md: {orphans}"
    assert {DOCS / name for name in ("api.md", "configuration.md", "tokens-and-sessions.md", "accounts.md", "email.md",
                                     "social-logins.md", "pictures.md", "operations.md", "deployment.md")} <= linked


def test_every_relative_link_leads_to_a_file_and_heading_that_exist() -> None:
    broken = []
    for page in WITH_LINKS:
        for link in relative_links(page):
            path, _, anchor = link.partition("#")
            target = (page.parent / path).resolve() if path else page
            if not target.exists():
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such file)")
            elif anchor and target.suffix == ".md" and anchor not in anchors(target.read_text()):
                broken.append(f"{page.relative_to(ROOT)}: {link} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_readme_is_a_front_door() -> None:
    assert len(README.encode()) < 16_000, "README.md is the front door: move details into a page of docs/"
    for heading in ("## Features", "## Quick start", "## Try it with curl", "## Documentation"):
        assert f"\n{heading}\n" in README, heading
    assert "scripts/serve     #" in README and "scripts/test      #" in README  # the two quick-start commands
    assert "(docs/index.md)" in README and "(CONTRIBUTING.md)" in README


def test_every_code_is_in_the_api_reference() -> None:
    missing = [o.code for o in all_outcomes() if f"`{o.code}`" not in API]
    assert not missing, f"codes missing from docs/api.md: {missing}"


def test_every_error_code_row_has_its_status() -> None:
    for outcome in all_outcomes():
        if outcome.status >= 400:
            assert f"| {outcome.status} | `{outcome.code}` |" in API, outcome.code


def test_the_code_tables_are_exactly_the_outcomes() -> None:
    errors = CODE_ROW.findall(section(API, "### Errors"))
    successes = CODE_ROW.findall(section(API, "### Successes"))
    rows = [(int(status), code) for status, code in errors + successes]
    assert len(rows) == len(set(rows)), f"rows written twice: {sorted(r for r in rows if rows.count(r) > 1)}"
    assert set(rows) == {(outcome.status, outcome.code) for outcome in all_outcomes()}
    assert all(int(status) >= 400 for status, _ in errors) and all(int(status) < 400 for status, _ in successes)
    assert len(CODE_ROW.findall(API)) == len(rows), "a code row outside the two tables of docs/api.md"


def test_every_code_the_manual_names_is_one_the_api_answers_with() -> None:
    known = {outcome.code for outcome in all_outcomes()}
    unknown = [f"{page.relative_to(ROOT)}: {code}" for page in MANUAL
               for code in re.findall(r"\bauth/[a-z][a-z-]*", page.read_text()) if code not in known]
    assert not unknown, "\n".join(unknown)


def test_the_endpoint_table_is_exactly_the_documented_api() -> None:
    table = section(API, "## Endpoints")
    written = set()
    for methods, path in re.findall(r"^\| `([A-Z, ]+) (/[^`]*)` \|", table, re.MULTILINE):
        written |= {(method.strip(), path) for method in methods.split(",")}
    document = yaml.safe_load((DOCS / "openapi.yaml").read_text())
    documented = {(method.upper(), re.sub(r"\{(\w+)\}", r"<\1>", path))
                  for path, operations in document["paths"].items()
                  for method in operations if method in {"get", "post", "put", "patch", "delete"}}
    assert written == documented, (f"in docs/api.md only: {sorted(written - documented)}; "
                                   f"in docs/openapi.yaml only: {sorted(documented - written)}")


def test_every_path_the_manual_names_exists() -> None:
    missing = [f"{page.relative_to(ROOT)}: {path}" for page in MANUAL for path in PATH_IN_CODE.findall(page.read_text())
               if "<" not in path and ".venv" not in path and not (ROOT / path).exists()]
    assert not missing, "\n".join(missing)


def test_contributing_names_every_package_in_its_layout() -> None:
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    layout = FENCED.search(section(contributing, "## Layout")).group(0)
    top = set(re.findall(r"^([\w.]+/?[\w.]*)\s", layout, re.MULTILINE)) - {"```"}
    inside = set(re.findall(r"^  ([\w.]+/?)\s", layout, re.MULTILINE))
    assert not [name for name in top if not (ROOT / name).exists()], top
    assert not [name for name in inside if not (ROOT / "services" / name).exists()], inside
    assert {"server.py", "runtime/", "handlers/", "services/", "tests/", "bench/"} <= top
    packages = {f"{folder.name}/" for folder in (ROOT / "services").iterdir() if (folder / "__init__.py").exists()}
    modules = {module.name for module in (ROOT / "services").glob("*.py") if module.name != "__init__.py"}
    differ = (packages | modules) ^ inside
    assert not differ, f"CONTRIBUTING.md's layout and services/ differ: {sorted(differ)}"


def test_config_yaml_lists_every_setting_with_its_default() -> None:
    written = yaml.safe_load((ROOT / "config.yaml").read_text())
    assert sorted(written) == sorted(setting_names())
    defaults = load_config(None, environ={})
    from_file = load_config(ROOT / "config.yaml", environ={})
    assert from_file == defaults
