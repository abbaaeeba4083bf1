"""The native apps a passkey may be used from: `ANDROID_APPS` as configured, typed and checked.

Android's Credential Manager uses a passkey of this server's RP ID only in an app that the site names in
`/.well-known/assetlinks.json` (Digital Asset Links, `delegate_permission/common.get_login_creds`) by its package
name and the SHA-256 fingerprints of its signing certificates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
FINGERPRINT = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")


@dataclass(frozen=True)
class AndroidApp:
    package_name: str
    sha256_cert_fingerprints: tuple[str, ...]


def parse_android_apps(value: object) -> tuple[AndroidApp, ...]:
    """`[{package_name, sha256_cert_fingerprints: [...]}]` from YAML, or the same as JSON text from the environment."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    if not isinstance(value, list):
        raise ValueError("must be a list of {package_name, sha256_cert_fingerprints}")
    return tuple(_app(entry) for entry in value)


def _app(entry: object) -> AndroidApp:
    if not isinstance(entry, dict) or set(entry) != {"package_name", "sha256_cert_fingerprints"}:
        raise ValueError("each app needs exactly package_name and sha256_cert_fingerprints")
    name, prints = entry["package_name"], entry["sha256_cert_fingerprints"]
    if not isinstance(name, str) or not PACKAGE_NAME.match(name):
        raise ValueError(f"package_name {name!r} is not an Android package name such as com.example.app")
    if isinstance(prints, str):
        prints = [prints]
    if not isinstance(prints, list) or not prints:
        raise ValueError(f"{name}: sha256_cert_fingerprints must list at least one fingerprint")
    for fingerprint in prints:
        if not isinstance(fingerprint, str) or not FINGERPRINT.match(fingerprint.upper()):
            raise ValueError(f"{name}: {fingerprint!r} is not a SHA-256 fingerprint (32 hex bytes joined by colons)")
    return AndroidApp(package_name=name, sha256_cert_fingerprints=tuple(str(fp).upper() for fp in prints))
