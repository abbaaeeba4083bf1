"""The README's curl tour, run as pasted against a live server: every step must give the answer it shows.

The tour is the second ```sh block under "## Try it with curl"; the first starts the server with its output kept
in `server.log`, where the tour reads the links it was mailed. Each command (a line and its `\\` continuations)
is a step. What it must answer is, first, its inline comment when that is JSON, a code (`# auth/logged-out`) or a
status and a code (`# 401 auth/token-revoked`); otherwise the `# {...}` comment lines right below it, one JSON
value over one or more lines. Other comments are prose and promise nothing.

A shown JSON answer must have the real answer's shape: the same keys at every level (a key written `<kid>` stands
for any key) and the same values, except placeholders, which only need the same type: numbers, and strings that
contain `...` or are all digits. Lists match in any order. Every curl call of a step must answer 2xx, except the
last one of a step that shows an error, which must answer that error's status; every step must exit with 0, with
`pipefail` on. The curl calls are the README's own: a shell function only adds `-w` to report each status.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support.processes import SERVER, Server, free_port, server_environ, stop_server, wait_until_serving

from services.outcomes import all_outcomes

README = Path(__file__).resolve().parents[2] / "README.md"
ADDRESS = "localhost:8080"  # where the README says the server listens; the test's server gets a free port
SERVER_COMMAND = "scripts/serve | tee server.log"

pytestmark = pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")),
                                reason="the tour needs curl and jq (scripts/test installs them)")

STATUS_OF = {outcome.code: outcome.status for outcome in all_outcomes()}
INLINE_COMMENT = re.compile(r"\s#\s(.*)$")
EXPECTED_CODE = re.compile(r"^(?:(\d{3}) )?(auth/[a-z-]+)\b")

# Every curl call reports its status on stderr; markers split the output into steps.
PRELUDE = r"""set -o pipefail
curl() { command curl -w '%{stderr}@@status %{http_code}\n' "$@"; }
__begin() { printf '\n@@begin %s@@\n' "$1"; printf '@@begin %s@@\n' "$1" >&2; }
__end() { printf '\n@@end %s %s@@\n' "$1" "$2"; }
"""


@dataclass
class Step:
    number: int
    command: str
    shown: Any = None  # the JSON answer shown, if any
    status: int | None = None  # the status the last curl call must answer; None: 2xx
    code: str | None = None

    def describe(self) -> str:
        return f"step {self.number}: {self.command}"


def tour_blocks(text: str) -> list[str]:
    section = text.split("\n## Try it with curl\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)


def parse_steps(block: str) -> list[Step]:
    lines = block.splitlines()
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip() or lines[index].lstrip().startswith("#"):
            index += 1
            continue
        command = [lines[index]]
        while command[-1].endswith("\\"):
            index += 1
            command.append(lines[index])
        index += 1
        step = Step(len(steps) + 1, "\n".join(command))
        inline = INLINE_COMMENT.search(command[-1])
        if inline and inline.group(1).startswith(("{", "[")):
            step.shown = json.loads(inline.group(1))
        elif inline and (expected := EXPECTED_CODE.match(inline.group(1))):
            step.status = int(expected.group(1)) if expected.group(1) else None
            step.code = expected.group(2)
        elif index < len(lines) and lines[index].startswith("# {"):
            step.shown, index = _shown_below(lines, index, step)
        if isinstance(step.shown, dict):
            step.code = step.shown.get("code")
            assert step.shown.get("status") != "error" or step.code, f"{step.describe()}: an error without a code"
        if step.code is not None:
            assert step.code in STATUS_OF, f"{step.describe()}: {step.code} is not in services/outcomes.py"
            assert step.status in (None, STATUS_OF[step.code]), f"{step.describe()}: {step.code} is not a {step.status}"
            step.status = STATUS_OF[step.code]
        steps.append(step)
    return steps


def _shown_below(lines: list[str], index: int, step: Step) -> tuple[Any, int]:
    """The JSON of the `# ` lines from `index` on, as soon as they make one value."""
    text = ""
    while index < len(lines) and lines[index].startswith("#"):
        text += lines[index][1:].strip()
        index += 1
        try:
            return json.loads(text), index
        except json.JSONDecodeError:
            continue
    raise AssertionError(f"{step.describe()}: the answer shown below it is not JSON: {text}")


def mismatches(shown: Any, real: Any, where: str = "answer") -> list[str]:
    """How `real` differs from the `shown` answer; empty when it matches (see the module docstring)."""
    if isinstance(shown, dict):
        if not isinstance(real, dict):
            return [f"{where}: {real!r} is not an object"]
        if len(shown) == 1 and re.fullmatch(r"<\w+>", key := next(iter(shown))):
            if not real:
                return [f"{where}: empty, but shows {key}"]
            return [problem for name, value in real.items()
                    for problem in mismatches(shown[key], value, f"{where}.{name}")]
        if set(shown) != set(real):
            return [f"{where}: keys {sorted(real)} where the README shows {sorted(shown)}"]
        return [problem for name in shown for problem in mismatches(shown[name], real[name], f"{where}.{name}")]
    if isinstance(shown, list):
        if not isinstance(real, list) or len(real) != len(shown):
            return [f"{where}: {real!r} where the README shows {len(shown)} item(s)"]
        unmatched = list(real)
        for item in shown:
            match = next((candidate for candidate in unmatched if not mismatches(item, candidate)), None)
            if match is None:
                return [f"{where}: no item like {item!r} in {real!r}"]
            unmatched.remove(match)
        return []
    if _placeholder(shown):
        return [] if type(real) is type(shown) else [f"{where}: {real!r} is not a {type(shown).__name__}"]
    if type(real) is not type(shown) or real != shown:
        return [f"{where}: {real!r} where the README shows {shown!r}"]
    return []


def _placeholder(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) or (isinstance(value, str) and ("..." in value or value.isdigit()))


@dataclass
class Ran:
    output: str
    statuses: list[int]
    stderr: str
    exit_code: int | None


def run_tour(steps: list[Step], folder: Path, port: int) -> dict[int, Ran]:
    script = PRELUDE + "".join(f"__begin {step.number}\n{step.command.replace(ADDRESS, f'localhost:{port}')}\n"
                               f"__end {step.number} $?\n" for step in steps)
    done = subprocess.run(["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=180,
                          check=False)
    outputs = {int(n): (text, int(code)) for n, text, code in
               re.findall(r"\n@@begin (\d+)@@\n(.*?)\n@@end \1 (\d+)@@\n", done.stdout, re.DOTALL)}
    errors = dict(re.findall(r"@@begin (\d+)@@\n(.*?)(?=@@begin \d+@@\n|\Z)", done.stderr, re.DOTALL))
    ran = {}
    for step in steps:
        output, exit_code = outputs.get(step.number, ("", None))
        stderr = errors.get(str(step.number), "")
        statuses = [int(status) for status in re.findall(r"^@@status (\d{3})$", stderr, re.MULTILINE)]
        ran[step.number] = Ran(output.strip(), statuses, stderr, exit_code)
    return ran


def check(step: Step, ran: Ran) -> list[str]:
    problems = []
    if ran.exit_code != 0:
        problems.append(f"exited with {ran.exit_code}")
    if "curl " in step.command and not ran.statuses:
        problems.append("made no curl call")
    expected = [*(["2xx"] * (len(ran.statuses) - 1)), step.status or "2xx"] if ran.statuses else []
    for status, wanted in zip(ran.statuses, expected, strict=True):
        if (wanted == "2xx" and not 200 <= status < 300) or (wanted != "2xx" and status != wanted):
            problems.append(f"answered {status}, the README shows {wanted}")
    if step.shown is not None or step.code is not None:
        try:
            answer = json.loads(ran.output)
        except json.JSONDecodeError:
            answer = None
        if step.shown is not None:
            problems += mismatches(step.shown, answer) if answer is not None else ["printed no JSON answer"]
        elif isinstance(answer, dict) and answer.get("code") != step.code:
            problems.append(f"answered code {answer.get('code')}, the README shows {step.code}")
    if problems:
        problems.append(f"printed: {ran.output[:500]!r}; stderr: {ran.stderr[-500:]!r}")
    return problems


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Server]:
    """`server.py serve` on the embedded default in the tour's folder, its standard output in server.log."""
    port = free_port()
    environ = server_environ(JWT_KEYS=str(tmp_path / "keys"), DATA_DIR=str(tmp_path / "data"),
                             UPLOAD_FOLDER=str(tmp_path / "uploads"), APP_URL=f"http://localhost:{port}/",
                             BCRYPT_COST="4")  # the answers are the same at any cost; 4 keeps the test quick
    # The tour runs in the folder `scripts/serve` ran in, whose .venv has the server's Python (it makes TOTP codes).
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    with (tmp_path / "server.log").open("wb") as stdout, (tmp_path / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen([sys.executable, str(SERVER), "serve", "--port", str(port)], cwd=tmp_path,
                                   env=environ, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                   start_new_session=True)
    server = Server(process, port, tmp_path)
    try:
        wait_until_serving(server)
        yield server
    finally:
        stop_server(process)


def test_the_tour_starts_the_server_the_way_this_test_does() -> None:
    server_block, tour = tour_blocks(README.read_text())
    assert server_block.strip() == SERVER_COMMAND
    assert ADDRESS in tour and "127.0.0.1:8080" not in tour


def test_the_parser_reads_every_kind_of_shown_answer() -> None:
    steps = parse_steps('curl -s x  # as the seed sends it\n'
                        'curl -s x \\\n  -d y  # 401 auth/token-revoked\n'
                        'curl -s x  # auth/logged-out\n'
                        'curl -s x\n# {"status":"error","code":"auth/invalid-credentials",\n#  "message":"..."}\n'
                        'curl -s x  # {"<kid>":"..."}\n')
    assert [(step.status, step.code) for step in steps] == [
        (None, None), (401, "auth/token-revoked"), (200, "auth/logged-out"), (401, "auth/invalid-credentials"),
        (None, None)]
    assert steps[1].command == "curl -s x \\\n  -d y  # 401 auth/token-revoked"
    assert mismatches(steps[4].shown, {"k1": "a", "k2": "b"}) == []
    shown = {"n": 1, "s": "a...", "l": [{"x": 1}, {"x": True}]}
    assert mismatches(shown, {"n": 2, "s": "ab", "l": [{"x": True}, {"x": 3}]}) == []  # placeholders, any order
    assert mismatches({"picture": None}, {"picture": "http://..."}) != []
    assert mismatches({"a": 1}, {"a": 1, "b": 2}) != []
    assert mismatches({"n": 1}, {"n": "1"}) != []


def test_every_step_of_the_readme_tour_gives_the_answer_it_shows(live_server: Server) -> None:
    steps = parse_steps(tour_blocks(README.read_text())[1])
    assert len(steps) > 30, "the tour was not found whole"
    assert sum(step.shown is not None or step.code is not None for step in steps) > 20
    ran = run_tour(steps, live_server.folder, live_server.port)
    failures = [f"{step.describe()}\n    " + "\n    ".join(problems)
                for step in steps if (problems := check(step, ran[step.number]))]
    assert not failures, "\n".join(failures) + f"\nserver:\n{live_server.stderr[-2000:]}"
