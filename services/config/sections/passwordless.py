"""Passwordless sign-in settings: codes and links by mail, codes by SMS and the SMS backend, anonymous accounts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import phonenumbers

from services.config.setting import check, is_http_url, setting
from services.config.values import Rate

SMS_BACKENDS = ("console", "twilio", "webhook")
TWILIO_API = "https://api.twilio.com"


@dataclass(frozen=True)
class PasswordlessSettings:
    """`POST /otp` mails a 6-digit code and a link, or texts a code; `POST /signup/anonymous` makes an account that
    becomes a full one later. Codes and links are single use and stored only hashed."""

    TITLE: ClassVar[str] = "Passwordless sign-in and anonymous accounts"
    PAGES: ClassVar[tuple[str, ...]] = ("passwordless.md",)

    otp_lifetime: int = setting(600, "Seconds a sign-in code and its link work (60 to 3600); a newer one voids the "
                                "older at once.")
    otp_max_attempts: int = setting(5, "Wrong codes after which a code is void, even the right one (1 to 10).")
    otp_create_user: bool = setting(True, "What `POST /otp` does for an address or number without an account when "
                                    "the request leaves `create_user` out: true makes the account when the code "
                                    "is used (never before), false sends nothing. `DISABLE_SIGNUP` sends nothing.")
    rate_limit_otp: Rate = setting(Rate(30, 3600), "Sign-in codes asked for (`POST /otp`, phone changes) per client "
                                   "network.")
    rate_limit_sms_number: Rate = setting(Rate(5, 3600), "Texts to one phone number, whether or not an account has "
                                          "it (mail to one address: `RATE_LIMIT_MAIL_ADDRESS`).")
    rate_limit_otp_verify: Rate = setting(Rate(10, 900), "Codes checked per address or phone number, right or "
                                          "wrong, on top of `OTP_MAX_ATTEMPTS` per code.")
    phone_default_region: str = setting("", "Region of numbers written without `+` and a country code (`GB`, `US`, "
                                        "...); empty: every number must be in E.164 form (`+447700900123`).")
    sms_backend: str = setting("console", "`console` (print texts, development), `twilio` (its Messages API) or "
                               "`webhook` (a signed POST to `SMS_WEBHOOK_URL`, for any other provider).")
    sms_send_timeout_seconds: float = setting(10.0, "One attempt to hand a text to the backend gives up after this "
                                              "many seconds.")
    sms_max_attempts: int = setting(5, "Attempts before a text is set aside in the dead letters "
                                    "(`auth:{sms}:dead`); a code is worth nothing after `OTP_LIFETIME` anyway.")
    sms_retry_base_seconds: float = setting(5.0, "Wait before the first retry of a text, in seconds; doubles with "
                                            "each further one, at most a minute.")
    twilio_account_sid: str = setting("", "Twilio account SID (`AC...`), needed with `SMS_BACKEND: twilio`.")
    twilio_auth_token: str = setting("", "Twilio auth token.", secret=True)
    twilio_from_number: str = setting("", "Sender number in E.164 form; or set `TWILIO_MESSAGING_SERVICE_SID`.")
    twilio_messaging_service_sid: str = setting("", "Twilio Messaging Service SID (`MG...`), used instead of a "
                                                "sender number when set.")
    twilio_base_url: str = setting(TWILIO_API, "Twilio's REST API (another address only for tests or a proxy).")
    sms_webhook_url: str = setting("", "Where `SMS_BACKEND: webhook` POSTs `{to, text, code?}`, signed per "
                                   "Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).")
    sms_webhook_secret: str = setting("", "The webhook's signing secret, `whsec_` and base64 (Standard Webhooks).",
                                      secret=True)
    anonymous_signup: bool = setting(False, "Allow `POST /signup/anonymous`: an account with no address or "
                                     "password, made a full one later by an email and password, a phone number or "
                                     "a social identity. Off: 403 `auth/anonymous-signup-disabled`.")
    rate_limit_anonymous_signup: Rate = setting(Rate(10, 3600), "Anonymous sign-ups per client network.")

    def __post_init__(self) -> None:
        check(60 <= self.otp_lifetime <= 3600, "OTP_LIFETIME", "must be between 60 and 3600 seconds")
        check(1 <= self.otp_max_attempts <= 10, "OTP_MAX_ATTEMPTS", "must be between 1 and 10")
        check(self.sms_backend in SMS_BACKENDS, "SMS_BACKEND", f"must be one of {', '.join(SMS_BACKENDS)}")
        check(not self.phone_default_region
              or self.phone_default_region in phonenumbers.SUPPORTED_REGIONS, "PHONE_DEFAULT_REGION",
              "must be empty or a region code phonenumbers knows (GB, US, DE, ...)")
        check(self.sms_send_timeout_seconds > 0, "SMS_SEND_TIMEOUT_SECONDS", "must be positive")
        check(self.sms_max_attempts >= 1, "SMS_MAX_ATTEMPTS", "must be at least 1")
        check(self.sms_retry_base_seconds > 0, "SMS_RETRY_BASE_SECONDS", "must be positive")
        check(is_http_url(self.twilio_base_url), "TWILIO_BASE_URL", "must be an absolute http(s) URL")
        if self.sms_backend == "twilio":
            check(self.twilio_account_sid.startswith("AC"), "TWILIO_ACCOUNT_SID",
                  "must be set (AC...) when SMS_BACKEND is twilio")
            check(bool(self.twilio_auth_token), "TWILIO_AUTH_TOKEN", "must be set when SMS_BACKEND is twilio")
            check(bool(self.twilio_from_number or self.twilio_messaging_service_sid), "TWILIO_FROM_NUMBER",
                  "or TWILIO_MESSAGING_SERVICE_SID must be set when SMS_BACKEND is twilio")
        if self.sms_backend == "webhook":
            check(is_http_url(self.sms_webhook_url), "SMS_WEBHOOK_URL",
                  "must be an absolute http(s) URL when SMS_BACKEND is webhook")
            check(self.sms_webhook_secret.startswith("whsec_"), "SMS_WEBHOOK_SECRET",
                  "must be set (whsec_...) when SMS_BACKEND is webhook")

    @property
    def sms_lease_seconds(self) -> float:
        """How long a worker owns a text it took: past it, another worker retries (a crash mid-send)."""
        return 2 * self.sms_send_timeout_seconds + 5
