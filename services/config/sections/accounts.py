"""Account settings: who may sign up, which passwords are accepted, how addresses are verified and reset."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.setting import check, is_http_url, setting

PASSWORD_BREACH_CHECKS = ("off", "hibp")


@dataclass(frozen=True)
class AccountSettings:
    """Sign-up, passwords, email verification, address changes and password reset (their links work this many
    seconds)."""

    TITLE: ClassVar[str] = "Accounts and passwords"
    PAGES: ClassVar[tuple[str, ...]] = ("accounts.md",)

    disable_signup: bool = setting(False, "Refuse `POST /signup` (403 `auth/signup-disabled`).")
    password_min_length: int = setting(12, "Shortest password accepted (at least 1), counted after NFKC "
                                       "normalisation; 12 is what OWASP ASVS 4 (2.1.1) asks for, and NIST SP "
                                       "800-63B recommends 15 where the password is the only factor.")
    password_max_length: int = setting(1024, "Longest password accepted (at least 64 and at least "
                                       "`PASSWORD_MIN_LENGTH`; every character counts).")
    password_min_score: int = setting(3, "Lowest zxcvbn strength score accepted, 0 to 4 (0 turns the check off): "
                                      "the estimate counts the user's own email address and name and `APP_NAME` "
                                      "as known words, so `aaaaaaaaaaaa`, sequences and the service's name fail.")
    bcrypt_cost: int = setting(12, "bcrypt work factor, 4 to 31; each step doubles the cost, and 12 "
                               "costs about a quarter of a second of CPU per login (measured in `bench/README.md`).")
    email_verification_required: bool = setting(False, "Refuse logins of unverified accounts (403 "
                                                "`auth/email-not-verified`); sign-up then answers a taken address "
                                                "like a new one and never says 409.")
    email_verification_lifetime: int = setting(86_400, "Seconds a verification link works (24 hours; at least 60).")
    password_reset_lifetime: int = setting(3600, "Seconds a password reset link works (1 hour; at least 60).")
    email_change_lifetime: int = setting(86_400, "Seconds an email address change waits for its confirmations, "
                                         "and its links work (24 hours; at least 60).")
    password_breach_check: str = setting("off", "`hibp`: refuse passwords known from breaches (400 "
                                         "`auth/password-breached`) at sign-up, change and reset, asking the Pwned "
                                         "Passwords range API with k-anonymity: only the first 5 hex characters of "
                                         "the password's SHA-1 leave the server. `off`: the local list only.")
    password_breach_url: str = setting("https://api.pwnedpasswords.com/range/", "The range API; the 5-character "
                                       "prefix is appended (another address only for tests or a mirror).")
    password_breach_timeout_seconds: float = setting(2.0, "The range API slower than this many seconds counts as "
                                                     "unreachable.")
    password_breach_fail_open: bool = setting(True, "While the range API is unreachable, accept the password (a "
                                              "warning in the log says so); false: answer 503 `auth/unavailable`.")

    def __post_init__(self) -> None:
        check(4 <= self.bcrypt_cost <= 31, "BCRYPT_COST", "must be between 4 and 31")
        check(self.password_min_length >= 1, "PASSWORD_MIN_LENGTH", "must be at least 1")
        # OWASP ASVS 2.1.2: at least 64 characters must be accepted.
        check(self.password_max_length >= max(64, self.password_min_length), "PASSWORD_MAX_LENGTH",
              "must be at least 64 and at least PASSWORD_MIN_LENGTH")
        check(self.email_verification_lifetime >= 60, "EMAIL_VERIFICATION_LIFETIME", "must be at least 60 seconds")
        check(self.password_reset_lifetime >= 60, "PASSWORD_RESET_LIFETIME", "must be at least 60 seconds")
        check(0 <= self.password_min_score <= 4, "PASSWORD_MIN_SCORE", "must be between 0 and 4")
        check(self.email_change_lifetime >= 60, "EMAIL_CHANGE_LIFETIME", "must be at least 60 seconds")
        check(self.password_breach_check in PASSWORD_BREACH_CHECKS, "PASSWORD_BREACH_CHECK",
              f"must be one of {', '.join(PASSWORD_BREACH_CHECKS)}")
        check(is_http_url(self.password_breach_url), "PASSWORD_BREACH_URL", "must be an absolute http(s) URL")
        check(self.password_breach_timeout_seconds > 0, "PASSWORD_BREACH_TIMEOUT_SECONDS", "must be positive")
