"""Where the server keeps its data: MongoDB for users, Redis for epochs, sessions, limits and outboxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

from pymongo.errors import ConfigurationError as MongoConfigurationError
from pymongo.uri_parser import parse_uri

from services.config.setting import check, setting
from services.config.values import ConfigError

READ_PREFERENCES = ("primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest")
REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


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
        5.0, "How long one MongoDB read or write may take in all (finding a server, connecting, the reply, a write's "
        "wait for its write concern) before the request answers 503 `auth/unavailable`.")
    mongo_write_timeout_seconds: float = setting(
        0.0, "Replaced by `MONGO_TIMEOUT_SECONDS`, which bounds a write's wait for its write concern too; only `0` "
        "is accepted.")
    redis_url: str = setting("", "Redis URL (`redis://`, `rediss://`, `unix://`), e.g. `redis://localhost:6379/0`; "
                             "a cluster: `redis+cluster://host:port,host:port`; empty: start an embedded "
                             "redis-server.")
    redis_timeout_seconds: float = setting(1.0, "A Redis slower than this many seconds counts as down (503).")
    data_dir: str = setting("data", "Where the server keeps its own files: the embedded Redis's data and, by "
                            "default, the metrics. One server per folder: the first start locks it "
                            "(`DATA_DIR/server.lock`), and a second one in the same folder exits 2 naming the first.")
    unavailable_retry_after: int = setting(5, "`Retry-After` seconds sent with 503 `auth/unavailable` (at least 1).")
    user_cache_size: int = setting(
        50_000, "Users each server process keeps in memory for authenticated requests, so a request whose user was "
        "seen before reads no MongoDB (a user takes about 1 KB); 0: read MongoDB on every request. A copy is "
        "served only while the user's version in Redis, read in the request's one MGET, is the one it was read "
        "under: a change made through any server process or the CLI is seen on the very next request.")
    user_cache_seconds: float = setting(
        60.0, "Longest a process serves its copy of a user before reading MongoDB again: how long a change made in "
        "MongoDB directly (not through this server or its CLI, so no version changes) takes to be seen. 0: keep "
        "no copies.")

    def __post_init__(self) -> None:
        if self.redis_url:
            _check_redis_url(self.redis_url)
        if self.mongo_url:
            _check_mongo_url(self.mongo_url)
        check(self.redis_timeout_seconds > 0, "REDIS_TIMEOUT_SECONDS", "must be positive")
        check(self.unavailable_retry_after >= 1, "UNAVAILABLE_RETRY_AFTER", "must be at least 1")
        check(self.user_cache_size >= 0, "USER_CACHE_SIZE", "must be 0 or more")
        check(self.user_cache_seconds >= 0, "USER_CACHE_SECONDS", "must be 0 or more")
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


def _check_redis_url(url: str) -> None:
    """What redis-py would refuse with a traceback at the first connection, refused here with one line."""
    parts = urlsplit(url)
    check(parts.scheme.lower() in REDIS_SCHEMES, "REDIS_URL",
          f"must start with one of {', '.join(f'{scheme}://' for scheme in REDIS_SCHEMES)}")
    if parts.scheme.lower() == "unix":
        check(bool(parts.path), "REDIS_URL", "names no socket: write unix:///path/to/redis.sock")
    elif "+cluster" not in parts.scheme.lower():  # a cluster's list of nodes is checked where it is split
        try:
            parts.port  # noqa: B018 (the property parses the port, and raises when it is no port)
        except ValueError:
            check(False, "REDIS_URL", "has a port that is not a number from 0 to 65535")


def _check_mongo_url(url: str) -> None:
    """The URL's form, as the driver parses it, without the DNS lookup a `mongodb+srv://` one would make."""
    check(url.startswith(("mongodb://", "mongodb+srv://")), "MONGO_URL",
          "must start with mongodb:// or mongodb+srv://")
    if url.startswith("mongodb+srv://"):
        host = urlsplit(url).netloc.rpartition("@")[2]
        check(bool(host) and "," not in host and ":" not in host, "MONGO_URL",
              "mongodb+srv:// names one host name, without a port")
        return
    try:
        parse_uri(url)
    except (MongoConfigurationError, ValueError) as exc:  # the driver's own words; they never repeat the password
        raise ConfigError(f"setting MONGO_URL: {exc}") from None


def _url_write_concern(mongo_url: str) -> str:
    """The `w` option of a MongoDB URL ("" without one). URL options are case-insensitive (`W=0` is `w=0`)."""
    options = {name.lower(): values for name, values in parse_qs(urlsplit(mongo_url).query).items()}
    return options.get("w", [""])[-1].strip()
