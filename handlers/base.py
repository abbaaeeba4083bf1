"""The one BaseHandler: body limits, bodies, error rendering, security headers, CORS, the caller and its quotas."""

from __future__ import annotations

import dataclasses
import json
import logging
from types import TracebackType
from typing import TYPE_CHECKING, Any

import tornado.web

from handlers.bodies import JsonBody, form_fields, uploaded_file
from handlers.log_safety import request_summary, sent_values
from handlers.negotiation import prefers_html
from services.admin import ADMIN_KEY_PREFIX
from services.context import Caller, Client
from services.limits import QuotaName
from services.mfa import SealedValueError
from services.operations import REQUEST_ID_HEADER, current_request_id, log_safe_exception, request_id_from, scrub
from services.outcomes import (
    INTERNAL_ERROR,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    TOKEN_INVALID,
    UNAVAILABLE,
    AuthError,
    Outcome,
    outcome_for_status,
)
from services.tokens import NoSigningKey
from services.wiring import Services

if TYPE_CHECKING:
    from handlers.application import AuthApplication

log = logging.getLogger("auth.http")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


@tornado.web.stream_request_body
class BaseHandler(tornado.web.RequestHandler):
    """Streams the body so an oversized one is refused with 413 before it is read whole."""

    application: AuthApplication
    # Credentialed CORS only where a browser must keep a cookie from a cross-origin call (the link start), and
    # only for an origin listed by name; no other answer depends on cookies, so nowhere else does one gain anything.
    cors_credentials = False
    _request_id: str | None = None

    def initialize(self) -> None:
        self._chunks: list[bytes] = []
        self._quota_headers: dict[str, str] = {}

    @property
    def services(self) -> Services:
        return self.application.services

    @property
    def request_id(self) -> str:
        """This request's id: the caller's `X-Request-ID` when it is safe, else a new one; made once."""
        if self._request_id is None:
            self._request_id = request_id_from(self.request.headers.get(REQUEST_ID_HEADER))
        return self._request_id

    def set_default_headers(self) -> None:
        # Also runs again when an error clears the headers: every answer, errors too, carries the id.
        self.set_header(REQUEST_ID_HEADER, self.request_id)
        self.clear_header("Server")
        self.set_header("Content-Type", "application/json; charset=utf-8")
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)
        origin = self.request.headers.get("Origin")
        if self.application.cors_enabled:
            # With CORS on, every answer depends on Origin, even one without CORS headers: a shared cache must
            # not hand a foreign origin's answer (e.g. /settings/keys) to an allowed one (Fetch: CORS and HTTP caches).
            self.set_header("Vary", "Origin")
        allowed = self.application.cors_allowed_origin(origin) if origin else None
        if allowed is not None:
            allowed_origin, may_send_credentials = allowed
            self.set_header("Access-Control-Allow-Origin", allowed_origin)
            self.set_header("Access-Control-Allow-Headers",
                            f"Content-Type, Authorization, {self.services.config.jwt_header_name}")
            self.set_header("Access-Control-Allow-Methods", ", ".join(self._allowed_methods()))
            self.set_header("Access-Control-Max-Age", "600")
            if self.cors_credentials and may_send_credentials:
                self.set_header("Access-Control-Allow-Credentials", "true")

    # --- request body -------------------------------------------------------------------------------

    def prepare(self) -> None:
        # Inside the request's own task: what services log while serving it (the audit log) carries the id.
        current_request_id.set(self.request_id)
        limit = self.services.config.max_content_length
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise AuthError(PAYLOAD_TOO_LARGE, f"The request body may be at most {limit} bytes.")
        self._received = 0

    def data_received(self, chunk: bytes) -> None:
        # A chunked body declares no length: count as it arrives, answer 413 once, then drop the rest.
        self._received += len(chunk)
        if self._received <= self.services.config.max_content_length:
            self._chunks.append(chunk)
        elif not self._finished:
            self._chunks.clear()
            error = AuthError(PAYLOAD_TOO_LARGE)
            self.send_error(error.status, exc_info=(AuthError, error, None))

    @property
    def raw_body(self) -> bytes:
        if len(self._chunks) > 1:  # joined once: an 8 MB upload is not held twice, or copied on every read
            self._chunks = [b"".join(self._chunks)]
        return self._chunks[0] if self._chunks else b""

    def json_body(self, allow_empty: bool = False) -> JsonBody:
        return JsonBody.parse(self.raw_body, allow_empty=allow_empty)

    def file_body(self, field: str) -> bytes:
        """An uploaded file: the multipart form field `field`, or the raw body (handlers/bodies.py)."""
        return uploaded_file(self.request.headers.get("Content-Type", ""), self.raw_body, field)

    def form_body(self) -> dict[str, str | None]:
        """An `application/x-www-form-urlencoded` body (a provider's form_post), first value of each field."""
        return form_fields(self.raw_body)

    # --- responses ----------------------------------------------------------------------------------

    def write_json(self, data: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, separators=(",", ":")))

    def write_outcome(self, outcome: Outcome, **extra: Any) -> None:
        """A documented success (`auth/changed-name`, ...) in the seed's `{code, message, status}` shape."""
        self.write_json({"code": outcome.code, "message": outcome.message, "status": "success", **extra},
                        status=outcome.status)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = error_for(kwargs.get("exc_info"), status_code)
        if error.outcome is NOT_FOUND:
            # The same answer for an unknown address and a hidden one (/metrics): a page for a browser, else JSON.
            self.add_header("Vary", "Accept")
            if prefers_html(self.request.headers.get("Accept")):
                self._write_not_found_page(error)
                return
        self.set_status(error.status)
        if error.status == 405:  # RFC 9110 §15.5.6: say which methods would have worked
            self.set_header("Allow", ", ".join([*self._allowed_methods(), "OPTIONS"]))
        self.set_error_headers(error)
        self.finish(json.dumps({"status": "error", "code": error.code, "message": error.message, **error.details},
                               separators=(",", ":")))

    def _write_not_found_page(self, error: AuthError) -> None:
        pages = self.application.pages
        self.set_status(error.status)
        self.set_error_headers(error)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", pages.security_policy)
        self.finish(pages.render("message.html", title="Page not found", message=error.message, renewal=None))

    def error_headers(self, error: AuthError) -> dict[str, str]:
        """The error's own headers and, on a 503, when to retry.

        Services only say "unavailable"; how long a client should wait is presentation, from
        UNAVAILABLE_RETRY_AFTER (RFC 9110 §10.2.3), unless the error names its own."""
        if error.status == 503 and "Retry-After" not in error.headers:
            return {**error.headers, "Retry-After": str(self.services.config.unavailable_retry_after)}
        return error.headers

    def set_error_headers(self, error: AuthError) -> None:
        """`error_headers`, after the caller's quota: send_error cleared it, and the caller still deserves it."""
        for name, value in {**self._quota_headers, **self.error_headers(error)}.items():
            self.set_header(name, value)

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None,
                      tb: TracebackType | None) -> None:
        """Tornado's own would print the raw URI, the request's repr and a live traceback (whose frames' locals a
        handler could print); this one logs the redacted summary and a rendered traceback whose messages lose
        every value the client sent and anything shaped like a token (services/operations/redaction.py)."""
        if isinstance(value, AuthError) or value is None:
            return  # an expected, documented answer: the access log line is enough
        if isinstance(value, NoSigningKey):
            log.error("cannot issue tokens: %s", value)
            return
        if isinstance(value, SealedValueError):  # a key this server lacks (docs/deployment.md), or a tampered value
            log.error("cannot open a sealed MFA secret: %s (this server's keys: MFA_ENCRYPTION_KEYS or "
                      "MFA_ENCRYPTION_KEY_FILE)", value)
            return
        sent = sent_values(self.request, self.raw_body, self.services.config.jwt_header_name)
        if isinstance(value, tornado.web.HTTPError):
            if value.log_message:
                log.warning("%d %s: %s", value.status_code, self._request_summary(), scrub(value.get_message(), sent))
            return
        log_safe_exception(log, value, "uncaught exception in %s", self._request_summary(), known=sent)

    def _request_summary(self) -> str:
        """Tornado's summary of the request for its log lines, with the query values redacted."""
        return request_summary(self.request, self.client.ip)

    def options(self, *args: Any) -> None:
        """CORS preflight: the headers are set in set_default_headers for allowed origins."""
        self.set_status(204)
        self.finish()

    def _allowed_methods(self) -> list[str]:
        return [m for m in ("GET", "POST", "PATCH", "PUT", "DELETE")
                if getattr(type(self), m.lower()) is not getattr(tornado.web.RequestHandler, m.lower())]

    # --- authentication -----------------------------------------------------------------------------

    def bearer_token(self) -> str | None:
        """The token from the configured header (`python-auth: Bearer ...`) or `Authorization: Bearer ...`."""
        config = self.services.config
        for header in (config.jwt_header_name, "Authorization"):
            value = self.request.headers.get(header)
            if value:
                scheme, _, token = value.strip().partition(" ")
                if scheme.lower() == config.jwt_header_type.lower() and token.strip():
                    return token.strip()
        return None

    async def caller(self, *, before_second_factor: bool = False) -> Caller:
        """Who is calling: the bearer token checked against its signature, session and epoch, or a 401; then
        against `MFA_ENFORCEMENT` (403 `auth/mfa-required` for an aal1 token of a user with a second factor, except
        on the endpoints that lead to aal2: `before_second_factor`)."""
        token = self.bearer_token()
        if token and token.startswith(ADMIN_KEY_PREFIX):  # never a user: an admin key works on /admin/... only
            raise AuthError(TOKEN_INVALID, "An admin key is not a user's token; it works on /admin/... only.")
        caller = await self.services.sessions.authenticator.authenticate(token)
        return self.services.sessions.enforcement.admit(caller, before_second_factor=before_second_factor)

    # --- the caller and its quotas ------------------------------------------------------------------

    @property
    def client(self) -> Client:
        peer = self.request.remote_ip or ""
        ip = self.services.limits.client_addresses.resolve(peer, self.request.headers.get("X-Forwarded-For"))
        return Client(ip=ip, user_agent=self.request.headers.get("User-Agent", ""))

    def captcha_client(self, body: JsonBody) -> Client:
        """The client with the CAPTCHA token its body carries (`captcha_token`), for the requests that may need one."""
        return dataclasses.replace(self.client, captcha_token=body.optional_text("captcha_token"))

    async def rate_limit(self, quota: QuotaName, user: Caller | None = None) -> None:
        """Count this request against the caller's quota (per IP, and per user when `user` is given); 429 past
        either, RateLimit headers either way, those of the quota closer to its end."""
        throttle = self.services.limits.throttle
        decision = await throttle.per_ip(quota, self.client.ip)
        if user is not None and quota == "picture":
            per_user = await throttle.per_user(quota, user.user.uid)
            decision = min(decision, per_user, key=lambda d: d.remaining)
        self._quota_headers = decision.headers()
        for name, value in self._quota_headers.items():
            self.set_header(name, value)


class NotFoundHandler(BaseHandler):
    """Every unknown address answers the API's 404: JSON, or a page for a browser (handlers/negotiation.py)."""

    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


def error_for(exc_info: Any, status_code: int) -> AuthError:
    exc = exc_info[1] if exc_info else None
    if isinstance(exc, AuthError):
        return exc
    if isinstance(exc, NoSigningKey):
        return AuthError(UNAVAILABLE, "No signing key is loaded; an administrator must add one.",
                         {"Retry-After": "30"})
    if isinstance(exc, SealedValueError):  # the operator's to fix (the log line names the setting), not the user's
        return AuthError(UNAVAILABLE, "A second factor cannot be checked on this server right now; please retry "
                                      "shortly.", {"Retry-After": "30"})
    if isinstance(exc, tornado.web.HTTPError) or exc is None:
        return AuthError(outcome_for_status(status_code))
    return AuthError(INTERNAL_ERROR)
