"""The server's own settings: what it says about itself, where it listens, which requests it takes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from services.config.setting import check, is_http_url, setting
from services.config.urls import normalized_url
from services.config.values import ConfigError

DEFAULT_APP_URL = "http://localhost:8080/"
# Schemes a Continue link may not use: they run code or read files rather than open a page or an app.
_UNSAFE_SCHEMES = {"javascript", "vbscript", "data", "blob", "file", "filesystem", "about", "ftp"}
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


@dataclass(frozen=True)
class ServerSettings:
    """What the API says about itself (`GET /`, `GET /settings`), where it listens, which requests it takes."""

    TITLE: ClassVar[str] = "The server"
    PAGES: ClassVar[tuple[str, ...]] = ("api.md",)

    app_name: str = setting("Python JWT Auth", 'Shown by `GET /` (`"<APP_NAME> API"`), on the pages and as the '
                            "sender name of mails.")
    app_version: str = setting("0.0.1", "Shown by `GET /` and `GET /settings`.")
    app_logo_url: str = setting("", "Logo on the pages and in mails, an absolute http(s) URL; empty: the bundled "
                                "one, served by this server (`/static/logo.svg` on the pages, `/static/logo.png` in "
                                "mails, whose clients show no SVG), so it works offline too.")
    app_url: str = setting(DEFAULT_APP_URL, "Public address of this server: the only base of the links in mails, of "
                           "social sign-in callbacks and of local picture URLs (never the request's `Host`). An "
                           "absolute http(s) URL without query or fragment; a missing `/` at its end is added. While "
                           "it is the default, it follows `PORT` (`serve --port 9000`: `http://localhost:9000/`); "
                           "set it to the address users reach.")
    pages_continue_url: str = setting("", "Where the pages' Continue button leads once an address is confirmed or a "
                                      "password changed: your app's sign-in screen, an http(s) URL or an app's own "
                                      "scheme (`myapp://signed-in`); empty: no button, the page says it can be "
                                      "closed.")
    host: str = setting("127.0.0.1", "Address to listen on (`0.0.0.0` for all).")
    port: int = setting(8080, "Port to listen on, 0 to 65535 (`serve --port` overrides it).")
    max_content_length: int = setting(8 * 1024 * 1024, "Largest request body in bytes (8 MB; at least 1024); larger "
                                      "bodies get 413 `auth/payload-too-large`.")
    cors_origins: tuple[str, ...] = setting((), "Browser origins allowed to call the API, e.g. "
                                            "`[https://app.example.com]` (scheme, host and port, no path); `*` "
                                            "for any, without credentials: only a listed origin may send cookies.")
    http_header_timeout_seconds: float = setting(
        10.0, "How long a new connection may take to send its first request's headers in full, in seconds; "
        "past it the connection is closed (slow clients, such as a Slowloris attack, cannot hold descriptors).")
    http_idle_timeout_seconds: float = setting(
        75.0, "How long a keep-alive connection may wait between an answer and the next request's headers in full, "
        "in seconds; keep it above your load balancer's idle timeout (60 s on AWS), so the balancer closes first.")
    http_body_timeout_seconds: float = setting(
        60.0, "How long a request's body may take to arrive in full, in seconds (an 8 MB picture needs about "
        "140 KB/s at the default); past it the connection is closed.")

    def __post_init__(self) -> None:
        # One spelling for every consumer (mail links, callbacks, picture URLs, pages): the base ends with `/`.
        object.__setattr__(self, "app_url", self.app_url.rstrip("/") + "/")
        if self.app_url == DEFAULT_APP_URL and self.port not in (0, 8080):
            # The default only makes sense on a developer's machine, where the port given is the one meant: follow
            # it rather than mail links nobody can open (PORT 0, a free port chosen at start, has none to follow).
            object.__setattr__(self, "app_url", f"http://localhost:{self.port}/")
        check(not self.app_logo_url or is_http_url(self.app_logo_url), "APP_LOGO_URL",
              "must be empty (the bundled logo) or an absolute http:// or https:// URL")
        check(not self.pages_continue_url or _is_safe_continue_url(self.pages_continue_url), "PAGES_CONTINUE_URL",
              "must be empty, an absolute http(s) URL, or an app's own scheme (myapp://...)")
        check(is_http_url(self.app_url), "APP_URL", "must be an absolute http:// or https:// URL")
        parts = urlsplit(self.app_url)
        check(not parts.query and not parts.fragment, "APP_URL",
              "must have no query or fragment: it is the base of every link, callback and picture URL")
        check(1 <= self.port <= 65535 or self.port == 0, "PORT", "must be between 0 and 65535")
        check(self.max_content_length >= 1024, "MAX_CONTENT_LENGTH", "must be at least 1024 bytes")
        object.__setattr__(self, "cors_origins", tuple(_origin(entry) for entry in self.cors_origins))
        for name in ("http_header_timeout_seconds", "http_idle_timeout_seconds", "http_body_timeout_seconds"):
            check(getattr(self, name) > 0, name.upper(), "must be positive")

    @property
    def mail_logo_url(self) -> str:
        """The logo's address in mails: absolute, and a PNG when it is the bundled one."""
        return self.app_logo_url or f"{self.app_url}static/logo.png"


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


def _is_safe_continue_url(url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return is_http_url(url)
    return bool(_SCHEME.match(scheme)) and scheme not in _UNSAFE_SCHEMES
