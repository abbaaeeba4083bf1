"""Admin API settings: how admin keys are hashed, how fast one key may call, and how long a page of users is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.setting import check, setting
from services.config.values import Rate


@dataclass(frozen=True)
class AdminSettings:
    """Admin keys (`python server.py admin-keys create`) call `/admin/...` as `Authorization: Bearer pja_...`."""

    TITLE: ClassVar[str] = "Admin API"
    PAGES: ClassVar[tuple[str, ...]] = ("admin.md",)

    admin_key_secret: str = setting(
        "", "The key of the keyed hash (HMAC-SHA256) that admin keys are stored under: the same value on every "
        "machine that checks them. Empty: derived from the audit key (`AUDIT_HMAC_KEY`, or the one in `DATA_DIR`); "
        "changing it revokes every admin key.", secret=True)
    rate_limit_admin: Rate = setting(Rate(600, 60), "Admin API requests per admin key.")
    admin_page_max: int = setting(200, "The most users one `GET /admin/users` page holds (`limit`), 1 to 1000.")
    admin_import_max_lines: int = setting(10_000, "The most JSON lines one `POST /admin/users/import` takes; "
                                          "`python server.py users import` has no limit.")

    def __post_init__(self) -> None:
        check(1 <= self.admin_page_max <= 1000, "ADMIN_PAGE_MAX", "must be between 1 and 1000")
        check(self.admin_import_max_lines >= 1, "ADMIN_IMPORT_MAX_LINES", "must be at least 1")
