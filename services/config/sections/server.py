"""The server's own settings: what it says about itself, where it listens, which requests it takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from services.config.setting import check, is_http_url, setting
from services.config.urls import normalized_url
from services.config.values import ConfigError


@dataclass(frozen=True)
class ServerSettings:
    """What the API says about itself (`GET /`, `GET /settings`), where it listens, which requests it takes."""

    TITLE: ClassVar[str] = "The server"
    PAGES: ClassVar[tuple[str, ...]] = ("api.md",)

    app_name: str = setting("Python JWT Auth", 'Shown by `GET /` (`"<APP_NAME> API"`), on the pages and as the '
                            "sender name of mails.")
    app_version: str = setting("0.0.1", "Shown by `GET /` and `GET /settings`.")
    app_logo_url: str = setting("https://placehold.it/350x150", "Logo on the pages and in mails.")
    app_url: str = setting("http://localhost:8080/", "Public address of this server: the only base of the links in "
                           "mails, of social sign-in callbacks and of local picture URLs (never the request's `Host`). "
                           "An absolute http(s) URL without query or fragment; a missing `/` at its end is added.")
    host: str = setting("127.0.0.1", "Address to listen on (`0.0.0.0` for all).")
    port: int = setting(8080, "Port to listen on, 0 to 65535 (`serve --port` overrides it).")
    max_content_length: int = setting(8 * 1024 * 1024, "Largest request body in bytes (8 MB; at least 1024); larger "
                                      "bodies get 413 `auth/payload-too-large`.")
    cors_origins: tuple[str, ...] = setting((), "Browser origins allowed to call the API, e.g. "
                                            "`[https://app.example.com]` (scheme, host and port, no path); `*` "
                                            "for any, without credentials: only a listed origin may send cookies.")

    def __post_init__(self) -> None:
        # One spelling for every consumer (mail links, callbacks, picture URLs, pages): the base ends with `/`.
        object.__setattr__(self, "app_url", self.app_url.rstrip("/") + "/")
        check(is_http_url(self.app_url), "APP_URL", "must be an absolute http:// or https:// URL")
        parts = urlsplit(self.app_url)
        check(not parts.query and not parts.fragment, "APP_URL",
              "must have no query or fragment: it is the base of every link, callback and picture URL")
        check(1 <= self.port <= 65535 or self.port == 0, "PORT", "must be between 0 and 65535")
        check(self.max_content_length >= 1024, "MAX_CONTENT_LENGTH", "must be at least 1024 bytes")
        object.__setattr__(self, "cors_origins", tuple(_origin(entry) for entry in self.cors_origins))


def _origin(entry: str) -> str:
    """`*`, or an origin as browsers send it in `Origin`: lower case, no default port, nothing after the port."""
    if entry == "*":
        return entry
    problem = "must be an origin such as https://app.example.com: scheme, host and port, no path"
    try:
        url = normalized_url(entry)
    except ValueError:
        url = ""
    if not url or urlsplit(url).path != "/" or "?" in url or "*" in url or entry.endswith("/"):
        if entry == "null":
            problem = "must not be `null`: sandboxed frames and local files send it, and any page can be one"
        raise ConfigError(f"setting CORS_ORIGINS entry {entry!r} {problem}")
    return url.removesuffix("/")
