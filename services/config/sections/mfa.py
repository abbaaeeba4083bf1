"""Second factor and passkey settings: enforcement, the key that encrypts TOTP secrets, the limits on wrong codes,
the WebAuthn relying party and the native apps that may use its passkeys."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import urlsplit

from services.config.apps import AndroidApp
from services.config.setting import check, setting
from services.config.values import ConfigError, Rate

MFA_ENFORCEMENTS = ("highest_available", "aal1")
USER_VERIFICATIONS = ("preferred", "required")
ANDROID_ORIGIN = re.compile(r"^android:apk-key-hash:[A-Za-z0-9_-]{43}$")
APPLE_APP_ID = re.compile(r"^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$")
ANDROID_APPS_EXAMPLE = """\
- package_name: com.example.app
  sha256_cert_fingerprints:
    - "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
"""


@dataclass(frozen=True)
class MfaSettings:
    """TOTP, recovery codes and passkeys (WebAuthn): how strictly a second factor is asked for, how its secrets are
    kept, and which web origins and native apps may use this server's passkeys."""

    TITLE: ClassVar[str] = "Second factor and passkeys"
    PAGES: ClassVar[tuple[str, ...]] = ("mfa.md",)

    mfa_enforcement: str = setting("highest_available", "`highest_available`: a user with a second factor gets "
                                   "aal1 tokens at login that only `GET /user/mfa`, `/mfa/challenge`, `/mfa/verify`, "
                                   "`/logout` and `/refresh` accept until the factor is verified (403 "
                                   "`auth/mfa-required` elsewhere). `aal1`: every endpoint accepts them and resource "
                                   "servers decide from the `aal` claim; sensitive changes need aal2 either way.")
    mfa_encryption_keys: tuple[str, ...] = setting(
        (), "Keys that encrypt TOTP secrets at rest (AES-256-GCM), as `<kid>:<32 bytes in base64url>`; the first "
        "encrypts, every one decrypts (rotation: put a new key first, keep the old ones until `users mfa-rewrap` "
        "ran). Empty: the keys of `MFA_ENCRYPTION_KEY_FILE`.", secret=True,
        example="[k2:NEW-KEY-IN-BASE64URL, k1:OLD-KEY-IN-BASE64URL]")
    mfa_encryption_key_file: str = setting("", "File of such keys, one `<kid>:<key>` per line, the first encrypts; "
                                           "empty: `DATA_DIR/mfa-encryption.keys`, made with one new key on first "
                                           "start. Back it up with the database: without it no TOTP factor works.")
    rate_limit_mfa_failures: Rate = setting(Rate(5, 900), "Wrong second-factor codes per user and client network "
                                            "before that network is locked out of the user's verifications, with "
                                            "the failed-login lock's growing back-off.")
    rate_limit_mfa_failures_account: Rate = setting(Rate(20, 900), "Wrong second-factor codes per user from every "
                                                    "network together before every verification of the user is "
                                                    "locked; keep it above `RATE_LIMIT_MFA_FAILURES`.")
    mfa_challenge_attempts: int = setting(5, "Wrong codes one challenge takes before it is used up (1 to 10); "
                                          "a challenge lives 5 minutes and is used once.")
    webauthn_rp_id: str = setting("", "The WebAuthn relying party id, the domain passkeys belong to (e.g. "
                                  "`example.com`); empty: `APP_URL`'s host. Every web origin must be it or below it.")
    webauthn_rp_name: str = setting("", "The relying party's name that authenticators show; empty: `APP_NAME`.")
    webauthn_origins: tuple[str, ...] = setting(
        (), "Origins a WebAuthn ceremony may come from: web origins (`https://app.example.com`) and Android apps "
        "(`android:apk-key-hash:<base64url SHA-256 of the signing certificate>`); empty: `APP_URL`'s origin. iOS "
        "apps use the web origin of the RP ID.")
    webauthn_user_verification: str = setting("preferred", "`preferred`: authenticators verify the user when they "
                                              "can (a sign-in without it is aal1); `required`: ceremonies without "
                                              "user verification are refused.")
    apple_app_ids: tuple[str, ...] = setting((), "iOS apps that may use this server's passkeys, as "
                                             "`<team id>.<bundle id>` (`ABCDE12345.com.example.app`): served as "
                                             "`webcredentials.apps` by `/.well-known/apple-app-site-association`.")
    android_apps: tuple[AndroidApp, ...] = setting(
        (), "Android apps that may use this server's passkeys, a YAML list (JSON in the environment) of "
        "`package_name` and `sha256_cert_fingerprints`: served by `/.well-known/assetlinks.json`.",
        example=ANDROID_APPS_EXAMPLE)

    def __post_init__(self) -> None:
        check(self.mfa_enforcement in MFA_ENFORCEMENTS, "MFA_ENFORCEMENT",
              f"must be one of {', '.join(MFA_ENFORCEMENTS)}")
        check(self.webauthn_user_verification in USER_VERIFICATIONS, "WEBAUTHN_USER_VERIFICATION",
              f"must be one of {', '.join(USER_VERIFICATIONS)}")
        check(1 <= self.mfa_challenge_attempts <= 10, "MFA_CHALLENGE_ATTEMPTS", "must be between 1 and 10")
        app_url = urlsplit(getattr(self, "app_url", "http://localhost/"))
        if not self.webauthn_rp_id:
            object.__setattr__(self, "webauthn_rp_id", app_url.hostname or "localhost")
        if not self.webauthn_rp_name:
            object.__setattr__(self, "webauthn_rp_name", getattr(self, "app_name", "") or "auth")
        if not self.webauthn_origins:
            object.__setattr__(self, "webauthn_origins", (f"{app_url.scheme}://{app_url.netloc}",))
        object.__setattr__(self, "webauthn_origins",
                           tuple(_origin(entry, self.webauthn_rp_id) for entry in self.webauthn_origins))
        for app_id in self.apple_app_ids:
            check(bool(APPLE_APP_ID.match(app_id)), "APPLE_APP_IDS",
                  f"entry {app_id!r} must be <team id>.<bundle id>, e.g. ABCDE12345.com.example.app")


def _origin(entry: str, rp_id: str) -> str:
    """A web origin as browsers write it in clientDataJSON (no path, no default port), or an Android app's."""
    if entry.startswith("android:"):
        if not ANDROID_ORIGIN.match(entry):
            raise ConfigError(f"setting WEBAUTHN_ORIGINS entry {entry!r} must be android:apk-key-hash: and the "
                              "base64url SHA-256 of the app's signing certificate (43 characters)")
        return entry
    parts = urlsplit(entry)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError(f"setting WEBAUTHN_ORIGINS entry {entry!r} must be an origin such as https://example.com")
    host = parts.hostname
    if host != rp_id and not host.endswith(f".{rp_id}"):
        raise ConfigError(f"setting WEBAUTHN_ORIGINS entry {entry!r} is not on WEBAUTHN_RP_ID {rp_id} or below it")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    return f"{parts.scheme}://{host}{port}"
