"""wrk for bench/compare.py: one load or several at once, JSON-posting Lua scripts, the server's CPU per request."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import bench_user as bu


@dataclass(frozen=True)
class Load:
    """One wrk invocation: where, with what, how hard."""

    url: str
    headers: dict[str, str] | None = None
    script: Path | None = None
    threads: int = 2
    connections: int = 50
    timeout: int = 2  # wrk's own per-request timeout (s): slow lines (bcrypt) need more

    def scaled(self, connections: int) -> Load:
        """One wrk thread with a share of the connections: several of these run at once."""
        return Load(self.url, self.headers, self.script, 1, connections, self.timeout)


def wrk_command(load: Load, seconds: float) -> list[str]:
    command = ["wrk", f"-t{load.threads}", f"-c{load.connections}", f"-d{seconds:g}s", "--latency",
               "--timeout", f"{load.timeout}s"]
    for name, value in (load.headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if load.script is not None:
        command += ["-s", str(load.script)]
    return [*command, load.url]


def tree_cpu(pid: int) -> float | None:
    """CPU seconds of a process and its children (gunicorn's worker runs under its master)."""
    total = bu.cpu_seconds(pid)
    if total is None:
        return None
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return total + sum(tree_cpu(int(child)) or 0 for child in children)


def measure(label: str, load: Load, seconds: float, pid: int | None = None, warmup: float = 0) -> bu.Result:
    if warmup:
        subprocess.run(wrk_command(load, warmup), capture_output=True, timeout=warmup + 60, check=False)  # noqa: S603
    print(f"  {label} ({seconds:g}s) ...", file=sys.stderr, flush=True)
    cpu_before = tree_cpu(pid) if pid else None
    done = subprocess.run(wrk_command(load, seconds), capture_output=True, text=True, timeout=seconds + 60,  # noqa: S603
                          check=False)
    return finish(label, done, pid, cpu_before)


def measure_together(loads: list[tuple[str, Load]], seconds: float, pids: list[int] | None = None) -> list[bu.Result]:
    """Several wrk at once (a flood next to a measured line, or one wrk per server).

    With `pids`, each result's cpu_us is those servers' CPU time (all of them) per request (all of the results).
    """
    print(f"  {' + '.join(label for label, _ in loads)} ({seconds:g}s) ...", file=sys.stderr, flush=True)
    cpu_before = [tree_cpu(pid) for pid in pids or []]
    running = [(label, subprocess.Popen(wrk_command(load, seconds), stdout=subprocess.PIPE,  # noqa: S603
                                        stderr=subprocess.PIPE, text=True)) for label, load in loads]
    results = []
    for label, process in running:
        out, err = process.communicate(timeout=seconds + 60)
        results.append(finish(label, subprocess.CompletedProcess(process.args, process.returncode, out, err)))
    cpu_after = [tree_cpu(pid) for pid in pids or []]
    requests = sum(r.requests for r in results)
    if pids and None not in cpu_before + cpu_after and requests:
        spent = sum(after - before for before, after in zip(cpu_before, cpu_after, strict=True))  # type: ignore[operator]
        for result in results:
            result.cpu_us = spent / requests * 1e6
    return results


def finish(label: str, done: subprocess.CompletedProcess[str], pid: int | None = None,
           cpu_before: float | None = None) -> bu.Result:
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed on {label}: {done.stderr.strip() or done.stdout.strip()}")
    result = bu.parse_wrk(label, done.stdout)
    cpu_after = tree_cpu(pid) if pid else None
    if cpu_before is not None and cpu_after is not None and result.requests:
        result.cpu_us = (cpu_after - cpu_before) / result.requests * 1e6
    return result


def post_script(work: Path, name: str, body: object | None = None, form: str | None = None,
                signup_template: str | None = None) -> Path:
    """A wrk Lua script that POSTs JSON (or a form). `signup_template` has `%s` for a unique email per request."""
    path = work / f"{name}.lua"
    content_type = "application/x-www-form-urlencoded" if form is not None else "application/json"
    lines = ['wrk.method = "POST"', f'wrk.headers["Content-Type"] = "{content_type}"']
    if signup_template is None:
        lines.append(f"wrk.body = {json.dumps(form if form is not None else json.dumps(body))}")
    else:
        # Each wrk thread numbers its own requests; the run tag and thread id keep every address unique.
        tag = uuid.uuid4().hex[:8]
        lines += ["local threads = 0",
                  "function setup(thread) thread:set('tid', threads); threads = threads + 1 end",
                  "local counter = 0",
                  "function request()",
                  "  counter = counter + 1",
                  f"  local email = string.format('{tag}-%d-%d@example.com', tid, counter)",
                  f"  return wrk.format(nil, nil, nil, string.format({json.dumps(signup_template)}, email))",
                  "end"]
    path.write_text("\n".join(lines) + "\n")
    return path
