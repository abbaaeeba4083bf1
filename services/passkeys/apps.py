"""The documents that let native apps use this server's passkeys: the apps' own platforms fetch them from the RP ID's
domain, so they are served at `/.well-known/` of the host that `WEBAUTHN_RP_ID` names.

- iOS: `apple-app-site-association`, whose `webcredentials.apps` lists `<team id>.<bundle id>` (Apple's "Supporting
  associated domains"); the app declares `webcredentials:<rp id>` in its entitlements.
- Android: `assetlinks.json` (Digital Asset Links), one statement per app with
  `delegate_permission/common.get_login_creds`, its package name and signing certificates' SHA-256 fingerprints;
  the app's ceremonies then carry the origin `android:apk-key-hash:<...>`, listed in `WEBAUTHN_ORIGINS`.
"""

from __future__ import annotations

from typing import Any

from services.config import Config

GET_LOGIN_CREDS = "delegate_permission/common.get_login_creds"


def apple_app_site_association(config: Config) -> dict[str, Any]:
    return {"webcredentials": {"apps": list(config.apple_app_ids)}}


def asset_links(config: Config) -> list[dict[str, Any]]:
    return [{"relation": [GET_LOGIN_CREDS],
             "target": {"namespace": "android_app", "package_name": app.package_name,
                        "sha256_cert_fingerprints": list(app.sha256_cert_fingerprints)}}
            for app in config.android_apps]
