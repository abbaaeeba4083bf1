"""Admin keys for tests: made through the same AdminKeys the command line uses, sent as the admin API wants."""

from __future__ import annotations

from typing import Any

from services.admin import SCOPES
from services.wiring import Services


async def admin_key(services: Services, *scopes: str, name: str = "ops") -> str:
    key, _ = await services.admin.keys.create(name, tuple(scopes) or SCOPES)
    return key


def bearer(key: str) -> dict[str, Any]:
    return {"headers": {"Authorization": f"Bearer {key}"}}
