"""EVENT_LOOP: the serving processes run on uvloop by default, on the standard library's loop when asked.

Every test that starts `server.py serve` (tests/runtime, tests/infra, ...) serves on the default, uvloop; these
pin the choice itself and the setting's checks."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest
import uvloop

from runtime.serving import run_loop
from services.config import ConfigError, load_config


async def loop_kind() -> int:
    return 1 if isinstance(asyncio.get_running_loop(), uvloop.Loop) else 0


@pytest.mark.parametrize(("setting", "on_uvloop"), [("uvloop", 1), ("asyncio", 0)])
def test_the_serving_loop_is_the_one_event_loop_names(setting: str, on_uvloop: int) -> None:
    assert run_loop(load_config(None, environ={"EVENT_LOOP": setting}), loop_kind()) == on_uvloop


def test_uvloop_is_the_default() -> None:
    assert load_config(None, environ={}).event_loop == "uvloop"


def test_uvloop_asked_for_where_it_is_not_installed_is_one_line_naming_the_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "uvloop" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ConfigError, match=r"EVENT_LOOP.*uvloop is not installed"):
        load_config(None, environ={})
    assert load_config(None, environ={"EVENT_LOOP": "asyncio"}).event_loop == "asyncio"
