"""`python server.py users list|show|disable|enable|delete`.

There is no MongoDB server here, and embedded users live inside the server process, so the commands are
run through `run_users_command` on the test's own services (the test database, real Redis, the local picture
store); the process itself is run to check that, without MONGO_URL, it says so and exits 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.api import Api, assert_error, assert_revoked
from support.mail import RecordingNotifier, SmtpServer, mail_settings
from support.pictures import png
from support.processes import SERVER, server_environ

from commands.users import run_users_command
from services.config import Config
from services.wiring import Services

EMAIL = "omar@quazi.co"


@pytest.fixture
def settings(mailbox: SmtpServer) -> dict[str, Any]:
    """Mail to a test inbox: the console mailer would print into the commands' captured output."""
    return mail_settings(mailbox)


def pictures_in(config: Config) -> list[Path]:
    return list(Path(config.upload_folder).rglob("*.png"))


async def run(services: Services, capsys: pytest.CaptureFixture[str], command: str,
              email: str | None = None) -> tuple[int, str, str]:
    code = await run_users_command(services, command, email)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.gen_test(timeout=30)
async def test_list_shows_every_user_oldest_first(api: Api, services: Services,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(services, capsys, "list") == (0, "", "")
    await api.signup(email=EMAIL)
    await api.signup(email="second@example.com", name="Second")
    code, out, _ = await run(services, capsys, "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith(f"{EMAIL}\t") and "\tactive\t" in lines[0] and lines[0].endswith("\tOmar Quazi")
    assert lines[1].startswith("second@example.com\t")


@pytest.mark.gen_test(timeout=30)
async def test_show_prints_the_export_without_the_password_hash(api: Api, services: Services,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    tokens = await api.signed_up_tokens()
    await api.request("PUT", "/user/avatar", body=png((64, 64)), token=tokens["access_token"])
    code, out, _ = await run(services, capsys, "show", "  Omar@Quazi.co ")  # found however it is typed
    assert code == 0
    shown = json.loads(out)
    assert shown["user"]["email"] == EMAIL and "password_hash" not in shown["user"]
    assert shown["picture_url"].startswith("http://localhost:8080/uploads/avatars/")
    assert [session["current"] for session in shown["sessions"]] == [False]


@pytest.mark.gen_test(timeout=30)
async def test_disable_then_enable(api: Api, services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    tokens = await api.signed_up_tokens()
    code, out, _ = await run(services, capsys, "disable", EMAIL)
    assert code == 0 and "disabled" in out
    await assert_revoked(api, tokens)
    assert_error(await api.login(), 403, "auth/user-disabled")
    assert "\tdisabled\t" in (await run(services, capsys, "list"))[1]

    assert (await run(services, capsys, "enable", EMAIL))[0] == 0
    assert (await api.login()).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_delete_removes_user_picture_and_sessions_and_notifies(api: Api, services: Services, config: Config,
                                                                     notifier: RecordingNotifier,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    tokens = await api.signed_up_tokens()
    await api.request("PUT", "/user/avatar", body=png((64, 64)), token=tokens["access_token"])
    assert pictures_in(config)
    code, out, _ = await run(services, capsys, "delete", EMAIL)
    assert code == 0 and "deleted" in out
    assert not pictures_in(config)
    await assert_revoked(api, tokens)
    assert await services.users.find_by_email(EMAIL) is None
    assert notifier.deleted == [(EMAIL, "Omar Quazi")]


@pytest.mark.gen_test(timeout=30)
@pytest.mark.parametrize("command", ["show", "disable", "enable", "delete"])
async def test_an_unknown_or_invalid_address_exits_1(services: Services, capsys: pytest.CaptureFixture[str],
                                                     command: str) -> None:
    assert await run(services, capsys, command, "nobody@example.com") == (1, "", "error: no user nobody@example.com\n")
    code, _, err = await run(services, capsys, command, "not an address")
    assert code == 1 and err.startswith("error: ")


@pytest.mark.parametrize("args", [["users", "list"], ["users", "delete", EMAIL], ["users", "disable", EMAIL]])
def test_without_mongo_url_the_command_says_so_and_exits_1(tmp_path: Path, args: list[str]) -> None:
    run = subprocess.run([sys.executable, str(SERVER), *args], cwd=tmp_path, env=server_environ(),
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 1, run.stderr
    assert "need MONGO_URL" in run.stderr and "inside the server process" in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize("args", [["users"], ["users", "show"], ["users", "list", EMAIL], ["users", "purge", EMAIL]])
def test_malformed_commands_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    run = subprocess.run([sys.executable, str(SERVER), *args], cwd=tmp_path, env=server_environ(),
                         capture_output=True, text=True, timeout=30, check=False)
    assert run.returncode == 2 and "usage:" in run.stderr
