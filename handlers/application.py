"""The Tornado application: every route and setting in one place."""

from __future__ import annotations

from typing import Any

import tornado.web

from handlers.access_log import log_request
from handlers.auth import LoginHandler, RefreshHandler, SignupHandler
from handlers.base import NotFoundHandler
from handlers.meta import IndexHandler, JwksHandler, OpenApiHandler, PublicKeysHandler, SettingsHandler, load_openapi
from handlers.operations import HealthHandler, MetricsHandler, ReadinessHandler
from handlers.pages import (
    ForgotPasswordPage,
    PageKit,
    ResendVerificationPage,
    ResetPasswordPage,
    StaticHandler,
    VerifyEmailPage,
)
from handlers.pictures import AvatarHandler, PictureFileHandler
from handlers.resource_servers import AuthorizationServerMetadataHandler, IntrospectionHandler, RevocationHandler
from handlers.sessions import LogoutEverywhereHandler, LogoutHandler, SessionHandler, SessionsHandler
from handlers.social import (
    AuthorizeHandler,
    CallbackHandler,
    IdentitiesHandler,
    IdentityHandler,
    SocialLoginHandler,
)
from handlers.user import ExportHandler, UserHandler
from handlers.verification import (
    ForgotPasswordHandler,
    ResendVerificationHandler,
    ResetPasswordHandler,
    VerifyEmailHandler,
)
from services.config import PROVIDER_NAME, parse_networks
from services.pictures import LOCAL_URL_PREFIX, OBJECT_KEY
from services.wiring import Services

PROVIDER = PROVIDER_NAME.pattern.removeprefix("^").removesuffix("$")  # a provider name, as the config checks it


class AuthApplication(tornado.web.Application):
    def __init__(self, services: Services, **settings: Any) -> None:
        self.services = services
        self._cors_origins = frozenset(services.config.cors_origins)
        self.pages = PageKit(services.config)
        self.operator_networks = parse_networks(services.config.metrics_allowed_networks)
        routes = [
            (r"/", IndexHandler),
            (r"/settings", SettingsHandler),
            (r"/settings/keys", PublicKeysHandler),
            (r"/\.well-known/jwks\.json", JwksHandler),
            (r"/signup", SignupHandler),
            (r"/login", LoginHandler),
            (r"/refresh", RefreshHandler),
            (r"/user", UserHandler),
            (r"/user/avatar", AvatarHandler),
            (r"/user/export", ExportHandler),
            (r"/user/sessions", SessionsHandler),
            (r"/user/sessions/([0-9a-f]{32})", SessionHandler),
            (r"/logout", LogoutHandler),
            (r"/logout/all", LogoutEverywhereHandler),
            (r"/verify/resend", ResendVerificationHandler),
            (r"/verify", VerifyEmailHandler),
            (r"/password/forgot", ForgotPasswordHandler),
            (r"/password/reset", ResetPasswordHandler),
            (rf"/login/({PROVIDER})", SocialLoginHandler),
            (rf"/authorize/({PROVIDER})", AuthorizeHandler),
            (rf"/callback/({PROVIDER})", CallbackHandler),
            (r"/user/identities", IdentitiesHandler),
            (rf"/user/identities/({PROVIDER})", IdentityHandler),
            (r"/openapi\.json", OpenApiHandler, {"document": load_openapi(services.config)}),
            # Resource servers: the team's own APIs that accept our tokens (docs/resource-servers.md).
            (r"/\.well-known/oauth-authorization-server", AuthorizationServerMetadataHandler),
            (r"/oauth/introspect", IntrospectionHandler),
            (r"/oauth/revoke", RevocationHandler),
            # HTML pages, opened from the links we mail.
            (r"/verify-email", VerifyEmailPage),
            (r"/verify-email/resend", ResendVerificationPage),
            (r"/reset-password", ResetPasswordPage),
            (r"/forgot-password", ForgotPasswordPage),
            (r"/static/([a-z0-9-]+\.(?:css|svg))", StaticHandler),
            # Operations: probes for load balancers, metrics for Prometheus (docs/operations.md).
            (r"/healthz", HealthHandler),
            (r"/readyz", ReadinessHandler),
            (r"/metrics", MetricsHandler),
        ]
        if services.config.storage_backend == "local":
            # The pattern admits our own keys only: no `..`, no `%2e`, no other file of the folder.
            routes.append((rf"/{LOCAL_URL_PREFIX}({OBJECT_KEY.pattern})", PictureFileHandler))
        # The pages' XSRF cookie: never readable by script, never sent along from another site.
        xsrf_cookie = {"httponly": True, "samesite": "Strict", "secure": services.config.app_url.startswith("https:")}
        super().__init__(routes, default_handler_class=NotFoundHandler, log_function=log_request,
                         compress_response=False, xsrf_cookie_kwargs=xsrf_cookie, **settings)

    @property
    def cors_enabled(self) -> bool:
        return bool(self._cors_origins)

    def cors_allows(self, origin: str) -> bool:
        return "*" in self._cors_origins or origin in self._cors_origins


def make_app(services: Services, **settings: Any) -> AuthApplication:
    return AuthApplication(services, **settings)
