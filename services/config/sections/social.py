"""Social login settings: the providers, where browsers may be sent back, and the limits of outbound calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.providers import ProviderConfig
from services.config.setting import check, setting
from services.config.urls import normalized_url
from services.config.values import ConfigError

PROVIDERS_EXAMPLE = """\
google:
  client_id: [1234-web.apps.googleusercontent.com, 1234-ios.apps.googleusercontent.com]
  client_secret: GOCSPX-...               # for the browser flow (the first client_id)
apple:
  client_id: [com.example.web, com.example.app]   # the Services ID first: the browser flow uses it
  team_id: ABCDE12345                     # the client secret is an ES256 JWT signed with this key
  key_id: KEY1234567
  private_key_file: AuthKey_KEY1234567.p8  # or private_key: the PEM text
facebook: {client_id: "1234567890", client_secret: app-secret}
github: {client_id: Iv1.abc, client_secret: secret}
corp: {issuer: https://login.example.com, client_id: auth-server, client_secret: secret, scopes: [openid, email]}
"""


@dataclass(frozen=True)
class SocialSettings:
    """Providers by name: `google`, `apple`, `facebook` and `github` bring their own endpoints, any other name is an
    OpenID Connect issuer."""

    TITLE: ClassVar[str] = "Social logins"
    PAGES: ClassVar[tuple[str, ...]] = ("social-logins.md",)

    social_providers: tuple[ProviderConfig, ...] = setting(
        (), "Social login providers by name, a YAML mapping (JSON in the environment); it holds their client "
        "secrets and keys.", secret=True, example=PROVIDERS_EXAMPLE)
    social_redirect_allowlist: tuple[str, ...] = setting(
        (), "Pages the browser flow may return to, e.g. `[https://app.example.com/signed-in]`: absolute http(s) "
        "URLs without query or fragment. A `redirect_to` matches an entry when both, normalised, have the same "
        "scheme, host, port and exact path; its query is free.")
    social_http_timeout_seconds: float = setting(5.0, "A provider slower than this many seconds answers 503 "
                                                 "`auth/unavailable`.")
    social_state_ttl_seconds: int = setting(600, "How long a browser sign-in may take, from `/authorize` to "
                                            "`/callback`, in seconds (30 to 3600).")
    social_jwks_refetch_seconds: float = setting(60.0, "An ID token with an unknown `kid` refetches the provider's "
                                                 "keys at most this often, in seconds.")
    social_token_leeway: int = setting(60, "Seconds of clock skew tolerated on provider ID tokens (at most 300).")

    def __post_init__(self) -> None:
        check(self.social_http_timeout_seconds > 0, "SOCIAL_HTTP_TIMEOUT_SECONDS", "must be positive")
        check(30 <= self.social_state_ttl_seconds <= 3600, "SOCIAL_STATE_TTL_SECONDS",
              "must be between 30 and 3600 seconds")
        check(self.social_jwks_refetch_seconds >= 0, "SOCIAL_JWKS_REFETCH_SECONDS", "must not be negative")
        check(all(p.name != "passkey" for p in self.social_providers), "SOCIAL_PROVIDERS",
              "may not name a provider `passkey`: /login/passkey is the passkey sign-in")
        check(0 <= self.social_token_leeway <= 300, "SOCIAL_TOKEN_LEEWAY", "must be between 0 and 300 seconds")
        object.__setattr__(self, "social_redirect_allowlist",
                           tuple(_allowed_page(url) for url in self.social_redirect_allowlist))

    def provider(self, name: str) -> ProviderConfig | None:
        return next((p for p in self.social_providers if p.name == name), None)


def _allowed_page(url: str) -> str:
    """An allow-list entry in the normal form that `redirect_to` is compared in."""
    try:
        page = normalized_url(url)
    except ValueError as exc:
        raise ConfigError(f"setting SOCIAL_REDIRECT_ALLOWLIST entry {url!r} {exc}") from None
    if "?" in page:
        raise ConfigError(f"setting SOCIAL_REDIRECT_ALLOWLIST entry {url!r} must have no query: a page matches "
                          "with any query")
    return page
