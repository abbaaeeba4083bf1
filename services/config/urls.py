"""One spelling of an http(s) URL, so that two URLs are compared as what they mean, not as how they are written.

RFC 3986 §6.2.2: scheme and host in lower case, the scheme's default port dropped, percent-encoded unreserved
characters decoded and other escapes in upper case. What no spelling makes safe is refused outright rather than
repaired: anything but printable ASCII (a CR or LF would end up in a `Location` header), encoded control
characters, backslashes (which browsers read as `/`), credentials, a fragment, and dot-segments (`.`, `..`,
encoded or not), which browsers and servers resolve differently.
"""

from __future__ import annotations

import re
import urllib.parse

DEFAULT_PORTS = {"http": 80, "https": 443}
_PRINTABLE = re.compile(r"[!-~]+")  # no space, no control character, nothing outside ASCII
_ENCODED_CONTROL = re.compile(r"%(?:[01][0-9A-Fa-f]|7[Ff])")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalized_url(url: str) -> str:
    """`url` in its normal form, or ValueError saying what makes it unusable."""
    if not _PRINTABLE.fullmatch(url) or "\\" in url or _ENCODED_CONTROL.search(url):
        raise ValueError("must be printable ASCII without spaces, control characters or backslashes")
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError("must be an absolute http:// or https:// URL")
    if "@" in parts.netloc or "#" in url:
        raise ValueError("must not hold credentials or a fragment")
    port = parts.port  # ValueError when it is not a port number
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    authority = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    segments = [_ESCAPE.sub(_normal_escape, segment) for segment in (parts.path or "/").split("/")]
    if any(urllib.parse.unquote(segment) in (".", "..") or "%2F" in segment for segment in segments):
        raise ValueError("must not hold dot-segments (`.`, `..`) or encoded slashes in its path")
    query = _ESCAPE.sub(_normal_escape, parts.query)
    return f"{scheme}://{authority}{'/'.join(segments)}{'?' + query if query else ''}"


def _normal_escape(match: re.Match[str]) -> str:
    character = chr(int(match.group(1), 16))
    return character if character in _UNRESERVED else f"%{match.group(1).upper()}"
