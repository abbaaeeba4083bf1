"""What the team's own APIs (resource servers) call: the server's metadata (RFC 8414), token introspection
(RFC 7662) and revocation (RFC 7009). Both POSTs take the form RFC 7662 and RFC 7009 define; a JSON body
`{"token": ...}` works as well, as on `/refresh`."""

from __future__ import annotations

import base64
import binascii

from handlers.base import BaseHandler
from services.outcomes import MISSING_FIELD, REVOCATION_ACCEPTED, AuthError

# RFC 6750 §3 and RFC 7617: the schemes a resource server may authenticate with, told on every 401.
_REALM = 'realm="introspection"'


class AuthorizationServerMetadataHandler(BaseHandler):
    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=300")
        self.write_json(dict(self.services.resource_servers.metadata))


class TokenFormHandler(BaseHandler):
    def token_field(self) -> str:
        if self.request.headers.get("Content-Type", "").lower().startswith("application/json"):
            token = self.json_body().optional_text("token")
        else:
            token = self.form_body().get("token")
        if not token:
            raise AuthError(MISSING_FIELD, "Send the token as the form field 'token'.")
        return token


class IntrospectionHandler(TokenFormHandler):
    """`Cache-Control: no-store` (RFC 7662 §4) comes with every answer of this API."""

    async def post(self) -> None:
        introspection = self.services.resource_servers.introspection
        await introspection.authorize(self._presented_key())
        self.write_json(dict(await introspection.introspect(self.token_field())))

    def _presented_key(self) -> str | None:
        """`Authorization: Bearer <key>` (how admin keys are sent), or Basic with the key as the password
        (`client_secret_basic`, what off-the-shelf RFC 7662 clients send)."""
        scheme, _, value = self.request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() == "bearer":
            return value.strip() or None
        if scheme.lower() == "basic":
            try:
                _, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return secret or None
        return None

    def error_headers(self, error: AuthError) -> dict[str, str]:
        headers = super().error_headers(error)
        if error.status != 401:
            return headers
        presented = bool(self.request.headers.get("Authorization"))
        # No error code when nothing was presented (RFC 6750 §3.1); a refused key is an invalid token.
        bearer = f'Bearer {_REALM}, error="invalid_token"' if presented else f"Bearer {_REALM}"
        return {**headers, "WWW-Authenticate": f"{bearer}, Basic {_REALM}"}


class RevocationHandler(TokenFormHandler):
    async def post(self) -> None:
        await self.rate_limit("token")
        await self.services.resource_servers.revocation.revoke(self.token_field(), self.client.ip)
        self.write_outcome(REVOCATION_ACCEPTED)
