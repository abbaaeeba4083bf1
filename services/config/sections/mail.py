"""Mail delivery settings: the backend and its credentials, the sender, and the outbox's retries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.setting import check, is_http_url, setting

MAIL_BACKENDS = ("console", "smtp", "mailgun")
SMTP_SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True)
class MailSettings:
    """Mails go through an outbox in Redis and are retried with back-off until `MAIL_MAX_ATTEMPTS`."""

    TITLE: ClassVar[str] = "Mail delivery"
    PAGES: ClassVar[tuple[str, ...]] = ("email.md",)

    mail_backend: str = setting("console", "`console` (print mails, development), `smtp` or `mailgun`.")
    mail_from: str = setting("no-reply@localhost", "Sender address; the sender name is `APP_NAME`.")
    mail_send_timeout_seconds: float = setting(30.0, "One delivery attempt gives up after this many seconds (a "
                                               "worker's lease on a message is twice this, plus 5 s).")
    mail_max_attempts: int = setting(10, "Attempts before a message is set aside in the dead letters "
                                     "(`auth:{mail}:dead`).")
    mail_retry_base_seconds: float = setting(30.0, "Wait before the first retry, in seconds; doubles with each "
                                             "further one.")
    mail_retry_max_seconds: float = setting(3600.0, "Longest wait between two attempts, in seconds (at least "
                                            "`MAIL_RETRY_BASE_SECONDS`).")
    smtp_host: str = setting("localhost", "SMTP server (`MAIL_BACKEND: smtp`).")
    smtp_port: int = setting(587, "587 with `starttls`, 465 with `tls`, 25 for a local relay.")
    smtp_security: str = setting("starttls", "`starttls` (required: never falls back to plain text), `tls` "
                                 "(implicit) or `none`.")
    smtp_username: str = setting("", "SMTP login; empty: no authentication.")
    smtp_password: str = setting("", "SMTP password.", secret=True)
    mailgun_api_key: str = setting("", "Mailgun API key (needed with `MAIL_BACKEND: mailgun`).", secret=True)
    mailgun_domain: str = setting("", "Mailgun sending domain, e.g. `mg.example.com` (needed with "
                                  "`MAIL_BACKEND: mailgun`).")
    mailgun_base_url: str = setting("https://api.mailgun.net/v3", "Mailgun API; a domain in the EU region needs "
                                    "`https://api.eu.mailgun.net/v3`.")

    def __post_init__(self) -> None:
        check(self.mail_backend in MAIL_BACKENDS, "MAIL_BACKEND", f"must be one of {', '.join(MAIL_BACKENDS)}")
        check("@" in self.mail_from and "\n" not in self.mail_from, "MAIL_FROM", "must be an email address")
        check(self.mail_send_timeout_seconds > 0, "MAIL_SEND_TIMEOUT_SECONDS", "must be positive")
        check(self.mail_max_attempts >= 1, "MAIL_MAX_ATTEMPTS", "must be at least 1")
        check(self.mail_retry_base_seconds > 0, "MAIL_RETRY_BASE_SECONDS", "must be positive")
        check(self.mail_retry_max_seconds >= self.mail_retry_base_seconds, "MAIL_RETRY_MAX_SECONDS",
              "must be at least MAIL_RETRY_BASE_SECONDS")
        check(self.smtp_security in SMTP_SECURITY, "SMTP_SECURITY", f"must be one of {', '.join(SMTP_SECURITY)}")
        check(1 <= self.smtp_port <= 65535, "SMTP_PORT", "must be between 1 and 65535")
        if self.mail_backend == "smtp":
            check(bool(self.smtp_host.strip()), "SMTP_HOST", "must be set when MAIL_BACKEND is smtp")
        if self.mail_backend == "mailgun":
            check(bool(self.mailgun_api_key), "MAILGUN_API_KEY", "must be set when MAIL_BACKEND is mailgun")
            check(bool(self.mailgun_domain.strip()), "MAILGUN_DOMAIN", "must be set when MAIL_BACKEND is mailgun")
        check(is_http_url(self.mailgun_base_url), "MAILGUN_BASE_URL", "must be an absolute http(s) URL")

    @property
    def mail_lease_seconds(self) -> float:
        """How long a worker owns a message it took: past it, another worker retries (a crash mid-send)."""
        return 2 * self.mail_send_timeout_seconds + 5
