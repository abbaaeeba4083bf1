"""Every `code` the API answers with, in one place.

Handlers never build error bodies by hand: services raise `AuthError(PROBLEM)` and the base handler
renders `{"status": "error", "code": ..., "message": ...}`. The tables of codes in docs/api.md are
checked against this module by a test, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """A documented answer: HTTP status, stable machine-readable code, human message."""

    status: int
    code: str
    message: str


class AuthError(Exception):
    """Raised anywhere below a handler; becomes the JSON error response for `outcome`."""

    def __init__(self, outcome: Outcome, message: str | None = None,
                 headers: dict[str, str] | None = None, details: dict[str, object] | None = None) -> None:
        super().__init__(message or outcome.message)
        self.outcome = outcome
        self.message = message or outcome.message
        self.headers = headers or {}
        # More members of the error body, next to status, code and message (readiness: `checks`).
        self.details = details or {}

    @property
    def status(self) -> int:
        return self.outcome.status

    @property
    def code(self) -> str:
        return self.outcome.code


class ServiceUnavailable(AuthError):
    """A backend (Redis, MongoDB, a provider) cannot answer now: fail closed. The handler layer tells the client
    when to retry (`Retry-After` from UNAVAILABLE_RETRY_AFTER): that is presentation, not the service's business."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(UNAVAILABLE, message)


# Successes the seed README shows.
USER_REGISTERED = Outcome(200, "auth/user-registered", "Successfully created your account! Login now.")
# The same code when EMAIL_VERIFICATION_REQUIRED is on, for a new account and a taken address alike.
USER_REGISTERED_CHECK_INBOX = Outcome(
    200, "auth/user-registered",
    "Successfully created your account! Please confirm your email address with the link we sent you, then log in.",
)
CHANGED_NAME = Outcome(200, "auth/changed-name", "Successfully changed your name!")
CHANGED_EMAIL = Outcome(
    200, "auth/changed-email",
    "Successfully changed your email address, please check your inbox for a verification email! "
    "You may now login again.",
)
CHANGED_PASSWORD = Outcome(200, "auth/changed-password", "Successfully changed your password!")

# Request shape.
INVALID_JSON = Outcome(400, "auth/invalid-json", "The request body must be a JSON object.")
MISSING_FIELD = Outcome(400, "auth/missing-field", "A required field is missing.")
INVALID_FIELD = Outcome(400, "auth/invalid-field", "A field has the wrong type or value.")
INVALID_EMAIL = Outcome(400, "auth/invalid-email", "That is not a valid email address.")
INVALID_NAME = Outcome(400, "auth/invalid-name", "The name must be 1 to 200 printable characters.")
WEAK_PASSWORD = Outcome(400, "auth/weak-password", "The password does not meet the password policy.")
NOTHING_TO_CHANGE = Outcome(400, "auth/nothing-to-change",
                            "Send exactly one of name, email or password to change.")
PAYLOAD_TOO_LARGE = Outcome(413, "auth/payload-too-large", "The request body is too large.")

# Accounts.
SIGNUP_DISABLED = Outcome(403, "auth/signup-disabled", "Signing up is disabled on this server.")
EMAIL_IN_USE = Outcome(409, "auth/email-already-in-use", "An account with that email address already exists.")
INVALID_CREDENTIALS = Outcome(401, "auth/invalid-credentials", "The email address or password is incorrect.")

# Tokens (RFC 8725). Every failure is a 401 with its own code.
TOKEN_MISSING = Outcome(401, "auth/token-missing", "No token was sent.")
TOKEN_INVALID = Outcome(401, "auth/token-invalid", "The token is not valid.")
TOKEN_EXPIRED = Outcome(401, "auth/token-expired", "The token has expired.")
TOKEN_REVOKED = Outcome(401, "auth/token-revoked", "The token has been revoked; please log in again.")
FRESH_TOKEN_REQUIRED = Outcome(
    401, "auth/fresh-token-required",
    "This change needs a fresh token: log in again with fresh_token set to true.",
)

# Abuse protection.
TOO_MANY_REQUESTS = Outcome(429, "auth/too-many-requests", "Too many requests; please retry later.")

# Sessions.
SESSION_NOT_FOUND = Outcome(404, "auth/session-not-found", "You have no session with that id.")
LOGGED_OUT = Outcome(200, "auth/logged-out", "You are logged out.")
LOGGED_OUT_EVERYWHERE = Outcome(200, "auth/logged-out-everywhere", "You are logged out on every device.")
SESSION_REVOKED = Outcome(200, "auth/session-revoked", "That session has ended.")

# Profile pictures (only real images are stored: decoded and re-encoded).
PICTURE_CHANGED = Outcome(200, "auth/picture-changed", "Your profile picture has been changed.")
PICTURE_REMOVED = Outcome(200, "auth/picture-removed", "Your profile picture has been removed.")
UNSUPPORTED_IMAGE = Outcome(415, "auth/unsupported-image", "Send a PNG, JPEG or WebP image.")
INVALID_IMAGE = Outcome(400, "auth/invalid-image", "The image is damaged or incomplete.")
IMAGE_TOO_LARGE = Outcome(400, "auth/image-too-large", "The image has too many pixels.")

# The account's lifecycle.
ACCOUNT_DELETED = Outcome(200, "auth/account-deleted", "Your account and everything stored with it are deleted.")
USER_DISABLED = Outcome(403, "auth/user-disabled", "This account is disabled; contact the administrator.")

# Email verification and password reset. Answers that could tell whether an account exists are
# the same for every address.
VERIFICATION_SENT = Outcome(
    200, "auth/verification-sent",
    "If that address belongs to an account that still needs verifying, a new verification link is on its way.",
)
ALREADY_VERIFIED = Outcome(200, "auth/email-already-verified", "Your email address is already verified.")
EMAIL_VERIFIED = Outcome(200, "auth/email-verified", "Thank you, your email address is verified.")
RESET_SENT = Outcome(
    200, "auth/reset-sent",
    "If an account exists for that address, a link to reset its password is on its way. "
    "It is valid for a limited time.",
)
PASSWORD_RESET = Outcome(200, "auth/password-reset",
                         "Your password has been changed and every session has ended. Log in with the new password.")
EMAIL_NOT_VERIFIED = Outcome(403, "auth/email-not-verified",
                             "Please verify your email address first: follow the link in the mail we sent you.")
PASSWORDS_DIFFER = Outcome(400, "auth/passwords-do-not-match", "The two passwords are not the same.")
LINK_INVALID = Outcome(400, "auth/link-invalid",
                       "This link is not valid. It may be incomplete, or a newer link may have replaced it.")
LINK_EXPIRED = Outcome(410, "auth/link-expired",
                       "This link has expired: for your safety, links work for a limited time only.")
LINK_USED = Outcome(410, "auth/link-used", "This link has already been used: each link works only once.")

# A change of address (PATCH /user {"email"} answers the seed's auth/changed-email, then waits for the mailboxes).
EMAIL_CHANGE_CONFIRMED = Outcome(200, "auth/email-change-confirmed",
                                 "Thank you. The change also needs the confirmation we mailed to the other address.")
EMAIL_CHANGE_COMPLETED = Outcome(200, "auth/email-change-completed",
                                 "Your email address is changed and every session has ended. "
                                 "Log in with the new address.")
EMAIL_CHANGE_CANCELLED = Outcome(200, "auth/email-change-cancelled",
                                 "The change of your email address is cancelled: the account keeps its address.")
EMAIL_CHANGE_NOT_FOUND = Outcome(404, "auth/email-change-not-found",
                                 "There is no pending change of your email address.")

# Social logins and linked identities.
PROVIDER_NOT_FOUND = Outcome(404, "auth/provider-not-found", "That sign-in provider is not enabled on this server.")
PROVIDER_TOKEN_INVALID = Outcome(401, "auth/provider-token-invalid",
                                 "The identity provider's token could not be verified.")
PROVIDER_DENIED = Outcome(401, "auth/provider-denied", "The identity provider did not sign you in.")
ACCOUNT_EXISTS = Outcome(
    409, "auth/account-exists",
    "An account with this email address already exists. Log in to it and link this provider from there.",
)
IDENTITY_IN_USE = Outcome(409, "auth/identity-already-linked",
                          "This provider account is already linked to an account, or yours has one of this provider.")
IDENTITY_NOT_FOUND = Outcome(404, "auth/identity-not-found", "No identity of that provider is linked to your account.")
LAST_SIGN_IN_METHOD = Outcome(
    409, "auth/last-sign-in-method",
    "This is the only way to sign in to your account; set a password or link another provider first.",
)
INVALID_REDIRECT = Outcome(400, "auth/invalid-redirect", "redirect_to is not an address this server may send you to.")
INVALID_STATE = Outcome(400, "auth/invalid-state",
                        "This sign-in link is unknown, expired or already used; please start again.")
IDENTITY_LINKED = Outcome(200, "auth/identity-linked", "The provider account is now linked to yours.")
IDENTITY_UNLINKED = Outcome(200, "auth/identity-unlinked", "The provider account is no longer linked to yours.")

# Metadata (user_metadata is the user's own; app_metadata only admins set).
CHANGED_USER_METADATA = Outcome(200, "auth/changed-user-metadata", "Successfully changed your user_metadata!")
INVALID_METADATA = Outcome(400, "auth/invalid-metadata", "Metadata must be a JSON object of at most 4 KB.")

# The admin API (Authorization: Bearer pja_...).
ADMIN_KEY_REQUIRED = Outcome(401, "auth/admin-key-required",
                             "This endpoint needs an admin key, sent as Authorization: Bearer <key>.")
INSUFFICIENT_SCOPE = Outcome(403, "auth/insufficient-scope", "This admin key does not have the scope this needs.")
USER_NOT_FOUND = Outcome(404, "auth/user-not-found", "There is no user with that id.")
INVALID_CURSOR = Outcome(400, "auth/invalid-cursor", "That cursor is not one this server handed out.")
USER_CREATED = Outcome(201, "auth/user-created", "The user has been created.")
USER_UPDATED = Outcome(200, "auth/user-updated", "The user has been changed.")
USER_DELETED = Outcome(200, "auth/user-deleted", "The user and everything stored with it are deleted.")
SESSIONS_ENDED = Outcome(200, "auth/sessions-ended", "Every session of the user has ended.")
MFA_RESET = Outcome(200, "auth/mfa-reset",
                    "Every second factor, passkey and recovery code of the user is removed; every session has ended.")
USERS_IMPORTED = Outcome(200, "auth/users-imported", "The import is done; the report says what became of each line.")
INVALID_IMPORT = Outcome(400, "auth/invalid-import", "Send the users as JSON lines: one JSON object per line.")

# Auth hooks (HOOKS).
SIGNUP_REJECTED = Outcome(403, "auth/signup-rejected", "This sign-up was not accepted.")
HOOK_FAILED = Outcome(503, "auth/hook-failed", "A service this server consults did not answer; please retry shortly.")
# Passwordless sign-in: codes and links by mail, codes by SMS (services/passwordless). The answers to requests made
# with an address or a number alone are the same whether or not an account has it.
OTP_SENT = Outcome(200, "auth/otp-sent",
                   "If this address or number may sign in, a code is on its way. It works once, for a limited time.")
OTP_INVALID = Outcome(401, "auth/otp-invalid",
                      "This code does not work: it may be mistyped, expired, replaced by a newer one or already "
                      "used, or too many wrong codes were tried. Ask for a new one.")
INVALID_PHONE = Outcome(400, "auth/invalid-phone",
                        "That is not a valid phone number: write it with + and the country code (E.164).")
PHONE_CODE_SENT = Outcome(200, "auth/phone-code-sent",
                          "A code is on its way to that number: confirm it with POST /user/phone/verify.")
PHONE_VERIFIED = Outcome(200, "auth/phone-verified", "Your phone number is confirmed and saved.")
PHONE_REMOVED = Outcome(200, "auth/phone-removed", "Your phone number is removed from your account.")
PHONE_IN_USE = Outcome(409, "auth/phone-already-in-use", "Another account has this phone number.")
ANONYMOUS_SIGNUP_DISABLED = Outcome(403, "auth/anonymous-signup-disabled",
                                    "Anonymous sign-up is disabled on this server.")

# Bots and breached passwords.
CAPTCHA_FAILED = Outcome(400, "auth/captcha-failed",
                         "Solve the CAPTCHA and send its token as captcha_token: it was missing, expired or refused.")
PASSWORD_BREACHED = Outcome(400, "auth/password-breached",
                            "This password has appeared in a data breach, so attackers try it first; choose another.")
# Second factors (TOTP, recovery codes, passkeys as factors) and passkey sign-in.
MFA_REQUIRED = Outcome(403, "auth/mfa-required",
                       "This needs your second factor: verify it with POST /mfa/challenge and POST /mfa/verify.")
MFA_ENROLLED = Outcome(200, "auth/mfa-enrolled",
                       "Your second factor is active. Keep the recovery codes somewhere safe: they are shown once.")
MFA_FACTOR_REMOVED = Outcome(200, "auth/mfa-factor-removed", "That second factor is removed from your account.")
MFA_FACTOR_NOT_FOUND = Outcome(404, "auth/mfa-factor-not-found", "You have no second factor with that id.")
MFA_FACTOR_LIMIT = Outcome(409, "auth/mfa-factor-limit", "You have as many second factors as an account may have.")
MFA_CODE_INVALID = Outcome(400, "auth/mfa-code-invalid",
                           "That code is not right, or it was used already: each code works once.")
MFA_CHALLENGE_INVALID = Outcome(400, "auth/mfa-challenge-invalid",
                                "This challenge is unknown, expired or used up; ask for a new one.")
RECOVERY_CODES_REPLACED = Outcome(200, "auth/recovery-codes-replaced",
                                  "Your recovery codes are replaced: the earlier ones no longer work.")
PASSKEY_ADDED = Outcome(200, "auth/passkey-added", "Your passkey is registered.")
PASSKEY_REMOVED = Outcome(200, "auth/passkey-removed", "That passkey is removed from your account.")
PASSKEY_INVALID = Outcome(400, "auth/passkey-invalid", "The passkey's answer could not be verified.")
PASSKEY_IN_USE = Outcome(409, "auth/passkey-already-registered", "This passkey is registered already.")

# Resource servers: token introspection (RFC 7662) and revocation (RFC 7009).
REVOCATION_ACCEPTED = Outcome(200, "auth/revocation-accepted", "If that token was live, its session has ended.")

# Protocol and server.
NOT_FOUND = Outcome(404, "auth/not-found", "There is nothing at this address.")
METHOD_NOT_ALLOWED = Outcome(405, "auth/method-not-allowed", "This address does not accept that method.")
BAD_REQUEST = Outcome(400, "auth/bad-request", "The request could not be understood.")
UNAVAILABLE = Outcome(503, "auth/unavailable", "The service is temporarily unavailable; please retry shortly.")
NOT_READY = Outcome(503, "auth/not-ready", "This server is not ready to take requests; see checks.")
NOT_ALIVE = Outcome(503, "auth/not-alive", "This server cannot recover by itself and needs a restart; see checks.")
INTERNAL_ERROR = Outcome(500, "auth/internal-error", "Something went wrong on our side.")


def all_outcomes() -> list[Outcome]:
    """Every documented outcome, for the docs/api.md check and the error renderer."""
    return [value for value in globals().values() if isinstance(value, Outcome)]


def outcome_for_status(status: int) -> Outcome:
    """The generic outcome for an HTTP status Tornado raised on its own (404, 405, ...)."""
    return {
        400: BAD_REQUEST, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED, 413: PAYLOAD_TOO_LARGE, 429: TOO_MANY_REQUESTS,
        503: UNAVAILABLE,
    }.get(status, INTERNAL_ERROR if status >= 500 else BAD_REQUEST)
