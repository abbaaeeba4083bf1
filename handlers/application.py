"""The Tornado application: every route and setting in one place."""

from __future__ import annotations

import logging
import re
from typing import Any

import tornado.web

from handlers.auth import LoginHandler, RefreshHandler, SignupHandler
from handlers.base import BaseHandler, NotFoundHandler
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
from services.client_ip import parse_networks
from services.storage import LOCAL_URL_PREFIX, OBJECT_KEY
from services.wiring import Services

access_log = logging.getLogger("auth.access")

# Tokens can travel in query strings (`/refresh?token=...`, the provider's `code` and our `state` on `/callback`,
# and an old client's refused `/authorize?link_token=...`): never let one reach a log line.
_SECRET_QUERY = re.compile(
    r"((?:^|[?&])(?:token|access_token|refresh_token|id_token|link_token|password|code|state)=)[^&]*", re.IGNORECASE)
PROVIDER = "[a-z][a-z0-9_-]{0,31}"  # services/providers.py PROVIDER_NAME


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
            # HTML pages, opened from the links we mail.
            (r"/verify-email", VerifyEmailPage),
            (r"/verify-email/resend", ResendVerificationPage),
            (r"/reset-password", ResetPasswordPage),
            (r"/forgot-password", ForgotPasswordPage),
            (r"/static/([a-z0-9-]+\.(?:css|svg))", StaticHandler),
            # Operations: probes for load balancers, metrics for Prometheus (README "Operations").
            (r"/healthz", HealthHandler),
            (r"/readyz", ReadinessHandler),
            (r"/metrics", MetricsHandler),
        ]
        if services.config.storage_backend == "local":
            # The pattern admits our own keys only: no `..`, no `%2e`, no other file of the folder.
            routes.append((rf"/{LOCAL_URL_PREFIX}({OBJECT_KEY.pattern})", PictureFileHandler))
        # The pages' XSRF cookie: never readable by script, never sent along from another site.
        xsrf_cookie = {"httponly": True, "samesite": "Strict", "secure": services.config.app_url.startswith("https:")}
        super().__init__(routes, default_handler_class=NotFoundHandler, log_function=_log_request,
                         compress_response=False, xsrf_cookie_kwargs=xsrf_cookie, **settings)

    @property
    def cors_enabled(self) -> bool:
        return bool(self._cors_origins)

    def cors_allows(self, origin: str) -> bool:
        return "*" in self._cors_origins or origin in self._cors_origins


def make_app(services: Services, **settings: Any) -> AuthApplication:
    return AuthApplication(services, **settings)


def _log_request(handler: tornado.web.RequestHandler) -> None:
    status = handler.get_status()
    request = handler.request
    seconds = request.request_time()
    route = type(handler).__name__  # the handler, never the raw path: label values stay few
    application: AuthApplication = handler.application  # type: ignore[assignment]
    application.services.observer.request_finished(route, request.method or "", status, seconds)
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    if access_log.isEnabledFor(level):
        uri = _SECRET_QUERY.sub(r"\1[redacted]", request.uri or "")
        request_id = getattr(handler, "request_id", None)
        client = handler.client.ip if isinstance(handler, BaseHandler) else request.remote_ip
        fields = {"request_id": request_id, "method": request.method, "route": route, "path": uri,
                  "status": status, "duration_ms": round(1000.0 * seconds, 2), "client_ip": client}
        # The text line ends with the request id too: it ties the line to the answer's header and audit lines.
        access_log.log(level, "%d %s %s (%s) %.2fms %s", status, request.method, uri, client, 1000.0 * seconds,
                       request_id or "-", extra={"fields": fields})
