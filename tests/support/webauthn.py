"""A software WebAuthn authenticator for the tests: ES256 keys from `cryptography`, CBOR from `cbor2`, "none"
attestation, and the JSON a browser's `navigator.credentials` (or a native app's passkey API) hands the app.

It does what a real authenticator and its client do (W3C WebAuthn Level 3 §6.1, §6.5, §5.8.1): the client data names
the challenge and the page's origin, the authenticator data the RP ID's hash, the flags and the sign counter, and an
assertion signs authenticator data ‖ SHA-256(client data). Each step can be told to lie (another origin, another
RP ID, a counter it sets) so the tests can see the server refuse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StoredCredential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


class SoftwareAuthenticator:
    def __init__(self, origin: str, rp_id: str = "localhost", *, verifies_user: bool = True,
                 synced: bool = False) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.verifies_user = verifies_user
        self.synced = synced  # a multi-device (backed up) passkey
        self.credentials: list[StoredCredential] = []

    def create(self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
               challenge: str | None = None) -> dict[str, Any]:
        """`navigator.credentials.create({publicKey: options})`, as RegistrationResponseJSON."""
        rp = rp_id or options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        credential = StoredCredential(os.urandom(16), key, rp, unb64url(options["user"]["id"]))
        self.credentials.append(credential)
        numbers = key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + struct.pack(">H", len(credential.credential_id)) + credential.credential_id + cose
        auth_data = self._auth_data(rp, AT, 0) + attested
        client_data = self._client_data("webauthn.create", challenge or options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": b64url(credential.credential_id), "rawId": b64url(credential.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                             "transports": ["internal"]},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}

    def get(self, options: dict[str, Any], *, credential: StoredCredential | None = None, origin: str | None = None,
            rp_id: str | None = None, sign_count: int | None = None, user_handle: bytes | None = None,
            challenge: str | None = None) -> dict[str, Any]:
        """`navigator.credentials.get({publicKey: options})`, as AuthenticationResponseJSON: the first of our
        credentials the options allow (any, for a discoverable request), or `credential`."""
        allowed = [unb64url(item["id"]) for item in options.get("allowCredentials") or []]
        chosen = credential or next(c for c in self.credentials if not allowed or c.credential_id in allowed)
        chosen.sign_count = chosen.sign_count + 1 if sign_count is None else sign_count
        auth_data = self._auth_data(rp_id or chosen.rp_id, 0, chosen.sign_count)
        client_data = self._client_data("webauthn.get", challenge or options["challenge"], origin)
        signature = chosen.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": b64url(chosen.credential_id), "rawId": b64url(chosen.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature),
                             "userHandle": b64url(user_handle if user_handle is not None else chosen.user_handle)},
                "clientExtensionResults": {}, "authenticatorAttachment": "platform"}

    def _auth_data(self, rp_id: str, extra_flags: int, sign_count: int) -> bytes:
        flags = UP | extra_flags | (UV if self.verifies_user else 0) | ((BE | BS) if self.synced else 0)
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()
