"""Public, unauthenticated facts about this server: name, settings, verification keys and the API document."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import yaml

from handlers.base import BaseHandler
from services.config import Config

OPENAPI_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"


class IndexHandler(BaseHandler):
    def get(self) -> None:
        config = self.services.config
        self.write_json({"message": f"{config.app_name} API", "version": config.app_version})


class SettingsHandler(BaseHandler):
    def get(self) -> None:
        config = self.services.config
        signing = self.services.tokens.keyring.signing_key
        self.write_json({
            "alg": signing.alg if signing else config.jwt_algorithm,
            "disable_signup": config.disable_signup,
            "external_auth": self.services.social.sign_in.enabled(),
            "key_url": "/settings/keys",
            "version": config.app_version,
        })


class PublicKeysHandler(BaseHandler):
    """`{kid: PEM}` for every key that verifies, as the seed shows it."""

    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=60")
        self.write_json(self.services.tokens.keyring.public_pems())


class JwksHandler(BaseHandler):
    """The same keys as an RFC 7517 JWK Set, for standard JWT libraries."""

    def get(self) -> None:
        self.set_header("Cache-Control", "public, max-age=60")
        self.write_json(self.services.tokens.keyring.jwks())


def load_openapi(config: Config, path: Path = OPENAPI_PATH) -> dict[str, Any]:
    """`docs/openapi.yaml` as this server speaks it: its token header name and password length limits.

    Called when the application is built: a request never touches the file.
    """
    document = copy.deepcopy(_parse_yaml(path))
    components = document["components"]
    components["securitySchemes"]["tokenHeader"]["name"] = config.jwt_header_name
    components["schemas"]["Password"].update(minLength=config.password_min_length,
                                             maxLength=config.password_max_length)
    if config.storage_backend != "local":  # pictures are served by the bucket, not by this server
        document["paths"] = {path: item for path, item in document["paths"].items()
                             if not path.startswith("/uploads/")}
    return document


@functools.cache
def _parse_yaml(path: Path) -> dict[str, Any]:
    """Parsing costs ~50 ms: once per process, not once per application (the tests build one per test)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class OpenApiHandler(BaseHandler):
    """The OpenAPI 3.1 document of the whole API, for client generators and API testers."""

    def initialize(self, document: dict[str, Any]) -> None:
        super().initialize()
        self._document = document

    def get(self) -> None:
        self.write_json(self._document)
