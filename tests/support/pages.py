"""The HTML pages as a browser uses them, without one: open a page (keeping its XSRF cookie), post its form."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from support.api import Api

XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')


@dataclass
class Page:
    status: int
    headers: Any
    html: str
    cookie: str

    @property
    def xsrf(self) -> str:
        return html.unescape(XSRF_FIELD.search(self.html)[1])  # type: ignore[index]


async def open_page(api: Api, path: str, cookie: str = "") -> Page:
    response = await api.get(path, headers={"Cookie": cookie} if cookie else None)
    cookies = [value.split(";")[0] for value in response.headers.get_list("Set-Cookie")]
    return Page(response.status, response.headers, response.body.decode(), next(iter(cookies), cookie))


async def submit(api: Api, path: str, page: Page | None, **fields: str) -> Page:
    """Post a form as a browser would: the page's `_xsrf` in a field and in the cookie (without a page: neither)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if page is not None:
        fields = {"_xsrf": page.xsrf, **fields}
        headers["Cookie"] = page.cookie
    response = await api.request("POST", path, body=urlencode(fields), headers=headers)
    return Page(response.status, response.headers, response.body.decode(), page.cookie if page else "")


def heading(page: Page) -> str:
    return html.unescape(re.search(r"<h1>(.*?)</h1>", page.html)[1])  # type: ignore[index]


def local(link: str) -> str:
    """A mailed link's path and query, to open on the test server (mails link to APP_URL)."""
    return link.removeprefix("http://localhost:8080")
