"""Content negotiation, for the one answer that is both a page and an API error: "there is nothing at this address".

A browser that follows a stale link or a typo should see a page, an API client the API's JSON. The `Accept`
header tells them apart (RFC 9110 §12.5.1): browsers send `text/html,...,*/*;q=0.8`, API clients
`application/json`, `*/*` or nothing. HTML wins only when it is ranked strictly higher than JSON.
"""

from __future__ import annotations


def prefers_html(accept: str | None) -> bool:
    return _quality(accept or "", "text/html") > _quality(accept or "", "application/json")


def _quality(accept: str, media_type: str) -> float:
    """The q-value `accept` gives `media_type`: from its most specific matching range (`type/subtype`, then
    `type/*`, then `*/*`), 0 when none matches."""
    kind = media_type.partition("/")[0]
    best, best_rank = 0.0, -1
    for item in accept.split(","):
        name, *parameters = (part.strip() for part in item.split(";"))
        name = name.lower()
        rank = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(name, -1)
        if rank > best_rank:
            best, best_rank = _q(parameters), rank
    return best


def _q(parameters: list[str]) -> float:
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "q":
            try:
                return min(1.0, max(0.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0
