"""The Tornado application: every route and setting in one place."""

from __future__ import annotations

from typing import Any

import tornado.web

from handlers.access_log import log_request
from handlers.admin import (
    UID,
    AdminImportHandler,
    AdminUserHandler,
    AdminUserMfaHandler,
    AdminUserSessionsHandler,
    AdminUsersHandler,
)
from handlers.auth import LoginHandler, RefreshHandler, SignupHandler
from handlers.base import NotFoundHandler
from handlers.magic_link import MagicLinkPage
from handlers.meta import IndexHandler, JwksHandler, OpenApiHandler, PublicKeysHandler, SettingsHandler, load_openapi
from handlers.mfa import (
    ChallengeHandler,
    FactorHandler,
    FactorsHandler,
    RecoveryCodesHandler,
    TotpConfirmationHandler,
    TotpEnrolmentHandler,
    VerifyHandler,
)
from handlers.operations import HealthHandler, MetricsHandler, ReadinessHandler
from handlers.pages import (
    CancelEmailChangePage,
    ConfirmEmailChangePage,
    ForgotPasswordPage,
    PageKit,
    ResendVerificationPage,
    ResetPasswordPage,
    StaticHandler,
    VerifyEmailPage,
)
from handlers.passkeys import (
    AppleAssociationHandler,
    AssetLinksHandler,
    PasskeyHandler,
    PasskeyOptionsHandler,
    PasskeysHandler,
    PasskeySignInHandler,
    PasskeySignInOptionsHandler,
)
from handlers.passwordless import (
    AnonymousSignupHandler,
    MagicLinkVerifyHandler,
    OtpHandler,
    OtpVerifyHandler,
    PhoneHandler,
    PhoneVerifyHandler,
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
from handlers.user import EmailChangeHandler, ExportHandler, UserHandler
from handlers.verification import (
    CancelEmailChangeHandler,
    ConfirmEmailChangeHandler,
    ForgotPasswordHandler,
    ResendVerificationHandler,
    ResetPasswordHandler,
    VerifyEmailHandler,
)
from services.config import PROVIDER_NAME, parse_networks
from services.operations import protect_foreign_loggers
from services.pictures import LOCAL_URL_PREFIX, OBJECT_KEY
from services.wiring import Services

PROVIDER = PROVIDER_NAME.pattern.removeprefix("^").removesuffix("$")  # a provider name, as the config checks it


class AuthApplication(tornado.web.Application):
    def __init__(self, services: Services, **settings: Any) -> None:
        self.services = services
        # What Tornado and asyncio log about requests passes through the same redaction as our own lines.
        protect_foreign_loggers()
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
            (r"/login/passkey", PasskeySignInHandler),
            (r"/login/passkey/options", PasskeySignInOptionsHandler),
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
            (r"/user/email-change", EmailChangeHandler),
            (r"/email-change/confirm", ConfirmEmailChangeHandler),
            (r"/email-change/cancel", CancelEmailChangeHandler),
            (rf"/login/(?!passkey$)({PROVIDER})", SocialLoginHandler),  # "passkey" is no provider (SOCIAL_PROVIDERS)
            (rf"/authorize/({PROVIDER})", AuthorizeHandler),
            (rf"/callback/({PROVIDER})", CallbackHandler),
            (r"/user/identities", IdentitiesHandler),
            (rf"/user/identities/({PROVIDER})", IdentityHandler),
            # The admin API: admin keys only (docs/admin.md).
            (r"/admin/users", AdminUsersHandler),
            (r"/admin/users/import", AdminImportHandler),
            (rf"/admin/users/{UID}", AdminUserHandler),
            (rf"/admin/users/{UID}/sessions", AdminUserSessionsHandler),
            (rf"/admin/users/{UID}/mfa", AdminUserMfaHandler),
            # Passwordless sign-in, anonymous accounts and the phone number (docs/passwordless.md).
            (r"/otp", OtpHandler),
            (r"/otp/verify", OtpVerifyHandler),
            (r"/magic-link/verify", MagicLinkVerifyHandler),
            (r"/signup/anonymous", AnonymousSignupHandler),
            (r"/user/phone", PhoneHandler),
            (r"/user/phone/verify", PhoneVerifyHandler),
            # Second factors and passkeys (docs/mfa.md).
            (r"/user/mfa", FactorsHandler),
            (r"/user/mfa/totp", TotpEnrolmentHandler),
            (r"/user/mfa/totp/confirm", TotpConfirmationHandler),
            (r"/user/mfa/recovery-codes", RecoveryCodesHandler),
            (r"/user/mfa/([A-Za-z0-9_-]{32})", FactorHandler),
            (r"/mfa/challenge", ChallengeHandler),
            (r"/mfa/verify", VerifyHandler),
            (r"/user/passkeys/options", PasskeyOptionsHandler),
            (r"/user/passkeys", PasskeysHandler),
            (r"/user/passkeys/([A-Za-z0-9_-]{32})", PasskeyHandler),
            (r"/\.well-known/apple-app-site-association", AppleAssociationHandler),
            (r"/\.well-known/assetlinks\.json", AssetLinksHandler),
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
            (r"/confirm-email-change", ConfirmEmailChangePage),
            (r"/cancel-email-change", CancelEmailChangePage),
            (r"/magic-link", MagicLinkPage),
            (r"/static/([a-z0-9-]+\.(?:css|svg|png))", StaticHandler),
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

    def cors_allowed_origin(self, origin: str) -> tuple[str, bool] | None:
        """`Access-Control-Allow-Origin` for a caller's `Origin`, and whether credentials may go with it.

        Only an origin listed by name may send credentials (Fetch standard: `*` never can, and echoing any
        origin back with credentials would let every site call with the user's cookies). `*` is answered as
        `*`, not with the caller's origin, so no route can turn it into a credentialed answer."""
        if origin in self._cors_origins:
            return origin, True
        if "*" in self._cors_origins:
            return "*", False
        return None


def make_app(services: Services, **settings: Any) -> AuthApplication:
    return AuthApplication(services, **settings)
