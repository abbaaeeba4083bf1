"""Public, unauthenticated facts about this server: name, settings and verification keys."""

from __future__ import annotations

from handlers.base import BaseHandler

# The seed's four flags; social logins are not configured in this version.
EXTERNAL_AUTH = {"facebook": False, "google": False, "instagram": False, "twitter": False}


class IndexHandler(BaseHandler):
    def get(self) -> None:
        config = self.services.config
        self.write_json({"message": f"{config.app_name} API", "version": config.app_version})


class SettingsHandler(BaseHandler):
    def get(self) -> None:
        config = self.services.config
        signing = self.services.keyring.signing_key
        self.write_json({
            "alg": signing.alg if signing else config.jwt_algorithm,
            "disable_signup": config.disable_signup,
            "external_auth": EXTERNAL_AUTH,
            "key_url": "/settings/keys",
            "version": config.app_version,
        })


class PublicKeysHandler(BaseHandler):
    """`{kid: PEM}` for every key that verifies, as the seed shows it."""

    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=60")
        self.write_json(self.services.keyring.public_pems())


class JwksHandler(BaseHandler):
    """The same keys as an RFC 7517 JWK Set, for standard JWT libraries."""

    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=60")
        self.write_json(self.services.keyring.jwks())
