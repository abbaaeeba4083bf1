"""Token settings (the seed's JWT_* settings): the header, the keys, the claims and the lifetimes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.setting import check, setting

# Exactly these, never chosen by a token's header (RFC 8725 §3.1): no `none`, no HMAC with a public key.
SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")
REFRESH_TOKEN_REUSE_MODES = ("compatible", "strict")


@dataclass(frozen=True)
class TokenSettings:
    """Access and refresh tokens, the folder of key pairs that signs and verifies them, and the sessions tokens
    belong to: how long they live, how many a user holds, what a rotated refresh token is still worth."""

    TITLE: ClassVar[str] = "Tokens and keys"
    PAGES: ClassVar[tuple[str, ...]] = ("tokens-and-sessions.md",)

    jwt_header_name: str = setting("python-auth", "Header that carries the token (the seed's); "
                                   "`Authorization: Bearer` always works too.")
    jwt_header_type: str = setting("Bearer", "Scheme before the token in that header.")
    jwt_algorithm: str = setting("RS256", "Algorithm of generated keys, and the `alg` `GET /settings` shows while no "
                                 "key signs: `RS256`, `ES256` or `EdDSA`.")
    jwt_keys: str = setting("keys", "Folder of `<kid>.key` + `<kid>.pub` pairs.")
    jwt_signing_kid: str = setting("", "The kid that signs; empty: the newest pair with a private key.")
    jwt_keys_reload_seconds: float = setting(2.0, "How often the keys folder is checked for changes, in seconds.")
    jwt_keys_auto_generate: bool = setting(True, "Generate a key at start when the folder has none (development; "
                                           "turn it off in production).")
    jwt_audience: str = setting("python-jwt-auth", "`aud` of issued tokens, required on verification.")
    jwt_issuer: str = setting("localhost", "`iss` of issued tokens, required on verification.")
    jwt_access_token_lifetime: int = setting(900, "Seconds an access token lives (15 minutes).")
    jwt_refresh_token_lifetime: int = setting(2_592_000, "Seconds a refresh token lives (30 days); longer than "
                                              "`JWT_ACCESS_TOKEN_LIFETIME`.")
    jwt_leeway: int = setting(0, "Seconds of clock skew tolerated on `exp`, `nbf` and `iat` (at most 300).")
    refresh_token_reuse: str = setting("compatible", "What the parent of a session's current refresh token is "
                                       "worth: `compatible` keeps honouring it (seed clients never store the "
                                       "rotated token), `strict` for `REFRESH_TOKEN_REUSE_INTERVAL` seconds only, "
                                       "then presenting it ends the session.")
    refresh_token_reuse_interval: int = setting(10, "Seconds a rotated refresh token is still honoured in `strict` "
                                                "mode (a lost answer, parallel refreshes).")
    session_idle_timeout: int = setting(1_296_000, "Seconds a session lives without a refresh (15 days); 0: as "
                                        "long as a refresh token. Must be longer than `JWT_ACCESS_TOKEN_LIFETIME`.")
    session_max_lifetime: int = setting(2_592_000, "Seconds a session lives at most, refreshed or not (30 days, "
                                        "NIST 800-63B AAL1); its tokens end with it. 0: no limit.")
    session_max_per_user: int = setting(100, "Live sessions one user may hold; a login past it ends the oldest.")

    def __post_init__(self) -> None:
        check(self.jwt_algorithm in SIGNING_ALGORITHMS, "JWT_ALGORITHM",
              f"must be one of {', '.join(SIGNING_ALGORITHMS)}")
        check(bool(self.jwt_header_name.strip()), "JWT_HEADER_NAME", "must not be empty")
        check(bool(self.jwt_audience), "JWT_AUDIENCE", "must not be empty")
        check(bool(self.jwt_issuer), "JWT_ISSUER", "must not be empty")
        check(self.jwt_access_token_lifetime > 0, "JWT_ACCESS_TOKEN_LIFETIME", "must be positive")
        check(self.jwt_refresh_token_lifetime > self.jwt_access_token_lifetime,
              "JWT_REFRESH_TOKEN_LIFETIME", "must be longer than JWT_ACCESS_TOKEN_LIFETIME")
        check(0 <= self.jwt_leeway <= 300, "JWT_LEEWAY", "must be between 0 and 300 seconds")
        check(self.jwt_keys_reload_seconds > 0, "JWT_KEYS_RELOAD_SECONDS", "must be positive")
        check(self.refresh_token_reuse in REFRESH_TOKEN_REUSE_MODES, "REFRESH_TOKEN_REUSE",
              f"must be one of {', '.join(REFRESH_TOKEN_REUSE_MODES)}")
        check(self.refresh_token_reuse_interval >= 0, "REFRESH_TOKEN_REUSE_INTERVAL", "must not be negative")
        # Idle means "not refreshed": a client in use refreshes once per access token, so a shorter timeout
        # would end the sessions of clients that are busy.
        check(self.session_idle_timeout == 0 or self.session_idle_timeout > self.jwt_access_token_lifetime,
              "SESSION_IDLE_TIMEOUT", "must be 0 or longer than JWT_ACCESS_TOKEN_LIFETIME")
        check(self.session_max_lifetime >= 0, "SESSION_MAX_LIFETIME", "must not be negative")
        check(self.session_max_per_user >= 1, "SESSION_MAX_PER_USER", "must be at least 1")
