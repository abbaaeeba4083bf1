"""The HTML pages behind the links we mail: confirm an address, choose a new password, ask for a new link, confirm
or cancel an address change.

A GET only shows a page with a button or a form, so mail scanners that follow links use nothing up;
only the POST acts. Every form carries Tornado's XSRF token (double submit: the `_xsrf` cookie and the
form field must match), checked here once the streamed body is in. Pages load one stylesheet from
/static and no script at all, under a Content-Security-Policy that allows nothing else.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import tornado.httputil
import tornado.web

from handlers.base import BaseHandler, error_for
from services.config import Config
from services.outcomes import (
    BAD_REQUEST,
    EMAIL_CHANGE_CANCELLED,
    EMAIL_VERIFIED,
    INVALID_EMAIL,
    INVALID_FIELD,
    LINK_EXPIRED,
    LINK_INVALID,
    LINK_USED,
    MISSING_FIELD,
    NOT_FOUND,
    PASSWORD_RESET,
    PASSWORDS_DIFFER,
    RESET_SENT,
    VERIFICATION_SENT,
    WEAK_PASSWORD,
    AuthError,
)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates" / "pages"
STATIC = ROOT / "static"

# The form that asks for a new mail, on its own page and under every "this link does not work" page.
REQUEST_FORMS = {
    "verify": {"action": "verify-email/resend", "title": "Get a new verification link",
               "intro": "Enter your email address and we will mail you a new link to confirm it.",
               "button": "Mail me a new link"},
    "reset": {"action": "forgot-password", "title": "Forgot your password?",
              "intro": "Enter the email address of your account and we will mail you a link to choose a new password.",
              "button": "Mail me a reset link"},
}
LINK_TITLES = {LINK_INVALID: "This link does not work", LINK_EXPIRED: "This link has expired",
               LINK_USED: "This link has already been used"}
# Mistakes a person fixes on the same page: it is shown again with the message.
FORM_ERRORS = {INVALID_EMAIL, INVALID_FIELD, MISSING_FIELD, WEAK_PASSWORD, PASSWORDS_DIFFER}


class PageKit:
    """What every page shares, built once with the application: templates, static files, security policy."""

    def __init__(self, config: Config) -> None:
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                            undefined=jinja2.StrictUndefined)
        self.static = {path.name: path.read_bytes() for path in STATIC.iterdir() if path.is_file()}
        base = urlsplit(config.app_url).path  # APP_URL ends with "/", so does its path
        version = hashlib.sha256(self.static["pages.css"]).hexdigest()[:12]
        self.globals = {
            "app_name": config.app_name, "app_logo_url": config.app_logo_url or f"{base}static/logo.svg",
            "app_url": config.app_url, "continue_url": config.pages_continue_url,
            "base": base, "css_url": f"{base}static/pages.css?v={version}",
            "password_min_length": config.password_min_length, "password_max_length": config.password_max_length,
        }
        logo = urlsplit(config.app_logo_url)
        logo_source = f" {logo.scheme}://{logo.netloc}" if logo.scheme in ("http", "https") and logo.netloc else ""
        self.security_policy = (f"default-src 'none'; style-src 'self'; img-src 'self'{logo_source}; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")

    def render(self, name: str, **context: Any) -> str:
        return self.templates.get_template(name).render({**self.globals, **context})


class PageHandler(BaseHandler):
    renewal: str | None = None  # "verify" or "reset": the new mail that this page's error pages offer

    def initialize(self) -> None:
        super().initialize()
        self._form: dict[str, list[bytes]] = {}
        self._redisplay: tuple[str, dict[str, Any]] | None = None

    @property
    def pages(self) -> PageKit:
        return self.application.pages

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", self.pages.security_policy)

    def read_form(self) -> None:
        """Parse the posted form and check its XSRF token (403 when it is missing or does not match)."""
        # Our forms send nothing else; any other body just lacks the `_xsrf` field and gets the 403.
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            try:
                tornado.httputil.parse_body_arguments(content_type, self.raw_body, self._form, {}, self.request.headers)
            except tornado.httputil.HTTPInputError:
                raise AuthError(BAD_REQUEST) from None
        self.request.body_arguments = self._form
        self.request.arguments = {**self.request.query_arguments, **self._form}
        self.check_xsrf_cookie()

    def field(self, name: str) -> str:
        """A form field exactly as typed (Tornado's own getter would turn control characters into spaces)."""
        values = self._form.get(name)
        if not values:
            return ""
        try:
            return values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise AuthError(INVALID_FIELD, f"The field '{name}' is not valid text.") from None

    def redisplay_on_mistake(self, template: str, **context: Any) -> None:
        """If what follows fails with a mistake in the form, show `template` again with the message."""
        self._redisplay = (template, context)

    def render_page(self, template: str, status: int = 200, **context: Any) -> None:
        self.set_status(status)
        self.finish(self.pages.render(template, xsrf_token=self.xsrf_token.decode(), **context))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        exc = exc_info[1] if exc_info else None
        error = error_for(exc_info, status_code)
        self.set_error_headers(error)
        if isinstance(exc, AuthError) and exc.outcome in FORM_ERRORS and self._redisplay:
            template, context = self._redisplay
            self.render_page(template, exc.status, error=exc.message, **context)
            return
        if isinstance(exc, tornado.web.HTTPError) and exc.status_code == 403:  # the XSRF check
            self.render_page("message.html", 403, title="This form has expired",
                             message="For your safety, a form only works on the page that showed it. "
                                     "Go back, reload the page and try again.", renewal=None)
            return
        if error.status == 405:
            self.set_header("Allow", ", ".join([*self._allowed_methods(), "OPTIONS"]))
        title = LINK_TITLES.get(error.outcome, "Something went wrong" if error.status >= 500 else "Sorry")
        renewal = REQUEST_FORMS[self.renewal] if self.renewal and error.outcome in LINK_TITLES else None
        self.render_page("message.html", error.status, title=title, message=error.message, renewal=renewal)


class VerifyEmailPage(PageHandler):
    renewal = "verify"

    async def get(self) -> None:
        token = self.get_query_argument("token", "")
        user = await self.services.accounts.verification.check(token)
        self.render_page("verify.html", title="Confirm your email address", email=user.email, token=token)

    async def post(self) -> None:
        self.read_form()
        user = await self.services.accounts.verification.confirm(self.field("token"), self.client.ip)
        self.render_page("done.html", title="Email address confirmed", email=user.email,
                         message=EMAIL_VERIFIED.message)


class ResetPasswordPage(PageHandler):
    renewal = "reset"

    async def get(self) -> None:
        token = self.get_query_argument("token", "")
        user = await self.services.accounts.recovery.check(token)
        self.render_page("reset.html", title="Choose a new password", email=user.email, token=token)

    async def post(self) -> None:
        self.read_form()
        token = self.field("token")
        user = await self.services.accounts.recovery.check(token)
        self.redisplay_on_mistake("reset.html", title="Choose a new password", email=user.email, token=token)
        await self.services.accounts.recovery.reset(token, self.field("password"), self.field("password_confirmation"),
                                           self.client)
        self.render_page("done.html", title="Your password has been changed", email=user.email,
                         message=PASSWORD_RESET.message)


class ConfirmEmailChangePage(PageHandler):
    """Either address's confirmation of a change: the page says which address it is and where the account goes."""

    async def get(self) -> None:
        token = self.get_query_argument("token", "")
        user, purpose = await self.services.accounts.email_change.check(token)
        self.render_page("email-change.html", title="Confirm the new email address", token=token, user=user,
                         new=user.email_change.email if user.email_change else "", side=purpose,
                         action="confirm-email-change", button="Confirm the change")

    async def post(self) -> None:
        self.read_form()
        outcome, user = await self.services.accounts.email_change.confirm(self.field("token"), self.client.ip)
        self.render_page("done.html", title="Thank you", email=user.email, message=outcome.message)


class CancelEmailChangePage(PageHandler):
    async def get(self) -> None:
        token = self.get_query_argument("token", "")
        user = await self.services.accounts.email_change.check_cancellation(token)
        self.render_page("email-change.html", title="Cancel the email address change", token=token, user=user,
                         new=user.email_change.email if user.email_change else "", side="email-cancel",
                         action="cancel-email-change", button="Cancel the change")

    async def post(self) -> None:
        self.read_form()
        user = await self.services.accounts.email_change.cancel(self.field("token"), self.client.ip)
        self.render_page("done.html", title="The change is cancelled", email=user.email,
                         message=f"{EMAIL_CHANGE_CANCELLED.message} Every session has ended. If you did not ask "
                                 "for the change, choose a new password now.")


class RequestMailPage(PageHandler):
    """A form that asks for a mail by address: the answer is the same whether or not an account has it."""

    purpose = "reset"
    sent = RESET_SENT

    def get(self) -> None:
        self.render_page("request.html", form=REQUEST_FORMS[self.purpose], email="")

    async def post(self) -> None:
        self.read_form()
        email = self.field("email").strip()
        self.redisplay_on_mistake("request.html", form=REQUEST_FORMS[self.purpose], email=email)
        await self.rate_limit("mail")
        await self.request_mail(email)
        self.render_page("message.html", title="Check your inbox", message=self.sent.message, renewal=None)

    async def request_mail(self, email: str) -> None:
        raise NotImplementedError


class ForgotPasswordPage(RequestMailPage):
    purpose, sent = "reset", RESET_SENT

    async def request_mail(self, email: str) -> None:
        await self.services.accounts.recovery.forgot(email)


class ResendVerificationPage(RequestMailPage):
    purpose, sent = "verify", VERIFICATION_SENT

    async def request_mail(self, email: str) -> None:
        await self.services.accounts.verification.resend(email, None)


class StaticHandler(BaseHandler):
    """The pages' stylesheet and logo, from memory; their URLs carry a content version, so they cache."""

    def get(self, name: str) -> None:
        body = self.application.pages.static.get(name)
        if body is None:
            raise AuthError(NOT_FOUND)
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        text = media_type.startswith("text/") or media_type.endswith("+xml")  # CSS, SVG: text with a charset
        self.set_header("Content-Type", f"{media_type}; charset=utf-8" if text else media_type)
        self.set_header("Cache-Control", "public, max-age=86400")
        self.finish(body)
