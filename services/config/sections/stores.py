"""Where the server keeps its data: MongoDB for users, Redis for epochs, sessions, limits and outboxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from services.config.setting import check, setting

READ_PREFERENCES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")


@dataclass(frozen=True)
class StoreSettings:
    """Leave the URLs empty for the embedded default: users in memory, and a Redis the server starts and stops."""

    TITLE: ClassVar[str] = "MongoDB and Redis"
    PAGES: ClassVar[tuple[str, ...]] = ("deployment.md",)

    mongo_url: str = setting("", "MongoDB URL, e.g. `mongodb://localhost:27017/python_jwt_auth`; empty: an "
                             "in-memory store (data lost on stop).")
    mongo_database: str = setting("python_jwt_auth", "Database used when `MONGO_URL` names none.")
    mongo_write_concern: str = setting("", "Write concern of every write: empty (the server's default), "
                                       "`majority`, or a number of members like 1 or 2 (replica sets).")
    mongo_read_preference: str = setting("primary", "`primary`, `primaryPreferred`, `secondary`, "
                                         "`secondaryPreferred` or `nearest`; keep `primary`.")
    mongo_timeout_seconds: float = setting(
        5.0, "How long one MongoDB operation may take in all (finding a server, connecting, the reply, a write's "
        "wait for its write concern) before the request answers 503 `auth/unavailable`.")
    mongo_write_timeout_seconds: float = setting(
        0.0, "Replaced by `MONGO_TIMEOUT_SECONDS`, which bounds a write's wait for its write concern too; only `0` "
        "is accepted.")
    redis_url: str = setting("", "Redis URL (`redis://`, `rediss://`, `unix://`), e.g. `redis://localhost:6379/0`; "
                             "a cluster: `redis+cluster://host:port,host:port`; empty: start an embedded "
                             "redis-server.")
    redis_timeout_seconds: float = setting(1.0, "A Redis slower than this many seconds counts as down (503).")
    data_dir: str = setting("data", "Where the embedded Redis keeps its files.")
    unavailable_retry_after: int = setting(5, "`Retry-After` seconds sent with 503 `auth/unavailable` (at least 1).")

    def __post_init__(self) -> None:
        check(self.redis_timeout_seconds > 0, "REDIS_TIMEOUT_SECONDS", "must be positive")
        check(self.unavailable_retry_after >= 1, "UNAVAILABLE_RETRY_AFTER", "must be at least 1")
        concern = self.mongo_write_concern
        check(concern in ("", "majority") or (concern.isdigit() and 1 <= int(concern) <= 50), "MONGO_WRITE_CONCERN",
              "must be empty (the server's default), majority, or a number of members like 1 or 2")
        # Unacknowledged writes (w=0) report nothing: not a taken address, not a lost write. MONGO_WRITE_CONCERN,
        # when set, replaces the URL's.
        check(bool(concern) or _url_write_concern(self.mongo_url) != "0", "MONGO_URL",
              "w=0 (unacknowledged writes) cannot tell a sign-up that its address is taken or that its write was "
              "lost: drop w=0, or set MONGO_WRITE_CONCERN")
        check(self.mongo_read_preference in READ_PREFERENCES, "MONGO_READ_PREFERENCE",
              f"must be one of {', '.join(READ_PREFERENCES)}")
        check(self.mongo_timeout_seconds > 0, "MONGO_TIMEOUT_SECONDS", "must be positive")
        # PyMongo drops `wtimeout` from every write that runs under timeoutMS: a value here would do nothing.
        check(self.mongo_write_timeout_seconds == 0, "MONGO_WRITE_TIMEOUT_SECONDS",
              "is replaced by MONGO_TIMEOUT_SECONDS, which bounds every MongoDB operation, the wait for the write "
              "concern included: set that instead, and MONGO_WRITE_TIMEOUT_SECONDS to 0")

    @property
    def embedded_mongo(self) -> bool:
        return not self.mongo_url

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url


def _url_write_concern(mongo_url: str) -> str:
    """The `w` option of a MongoDB URL ("" without one). URL options are case-insensitive (`W=0` is `w=0`)."""
    options = {name.lower(): values for name, values in parse_qs(urlsplit(mongo_url).query).items()}
    return options.get("w", [""])[-1].strip()
