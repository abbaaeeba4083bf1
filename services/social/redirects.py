"""The browser flow's one open door: where a browser may be sent back to, with our tokens in the fragment.

`redirect_to` must be an entry of `SOCIAL_REDIRECT_ALLOWLIST` (RFC 9700 §4.1: exact matching, nothing else can be
proven safe): both are brought to one normal form (services/config/urls.py), then scheme, host, port and path
must be equal; only the query may differ, being the app's own. Anything the normal form refuses (control
characters, dot-segments, credentials, a fragment) is refused here, so what reaches the `Location` header is
plain printable ASCII and exactly the page that was compared.
"""

from __future__ import annotations

import urllib.parse

from services.config import normalized_url
from services.outcomes import INVALID_REDIRECT, AuthError

MAX_REDIRECT_LENGTH = 2048


class RedirectAllowList:
    def __init__(self, entries: tuple[str, ...]) -> None:
        self._pages = frozenset(normalized_url(entry) for entry in entries)

    def check(self, redirect_to: str | None) -> str:
        """The normalised `redirect_to`, or 400 `auth/invalid-redirect`."""
        if not redirect_to or len(redirect_to) > MAX_REDIRECT_LENGTH:
            raise AuthError(INVALID_REDIRECT)
        try:
            target = normalized_url(redirect_to)
        except ValueError:
            raise AuthError(INVALID_REDIRECT) from None
        page = urllib.parse.urlsplit(target)._replace(query="").geturl()
        if page not in self._pages:
            raise AuthError(INVALID_REDIRECT)
        return target
