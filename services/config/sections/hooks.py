"""Auth hooks (synchronous calls while a request is served) and webhooks (events delivered from a durable queue)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from services.config.hooks import HookConfig, WebhookConfig
from services.config.setting import check, setting

HOOKS_EXAMPLE = """\
before_signup: {url: https://app.example.com/hooks/signup, secret: whsec_..., timeout_seconds: 2, on_failure: reject}
custom_access_token: {url: https://app.example.com/hooks/claims, secret: whsec_..., on_failure: allow}
send_email: {url: https://app.example.com/hooks/mail, secret: whsec_...}
"""
WEBHOOKS_EXAMPLE = """\
- {url: https://app.example.com/webhooks, secret: whsec_..., events: [user.created, user.deleted, login.failed]}
"""


@dataclass(frozen=True)
class HookSettings:
    """Every call is a POST signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`) with the endpoint's own `whsec_` secret."""

    TITLE: ClassVar[str] = "Hooks and webhooks"
    PAGES: ClassVar[tuple[str, ...]] = ("hooks.md",)

    hooks: tuple[HookConfig, ...] = setting(
        (), "Auth hooks by name (`before_signup`, `custom_access_token`, `send_email`, `send_sms`), each "
        "`{url, secret, timeout_seconds, on_failure}` (`on_failure`: `reject` or `allow`); a YAML mapping (JSON "
        "in the environment).",
        secret=True, example=HOOKS_EXAMPLE)
    webhooks: tuple[WebhookConfig, ...] = setting(
        (), "Endpoints that receive events, each `{url, secret, events: [...]}` (`*`: every event); a YAML list "
        "(JSON in the environment).", secret=True, example=WEBHOOKS_EXAMPLE)
    webhook_timeout_seconds: float = setting(5.0, "A webhook delivery slower than this many seconds counts as "
                                             "failed and is retried.")
    webhook_max_attempts: int = setting(12, "Deliveries of one event to one endpoint before it is set aside in the "
                                        "dead letters (`python server.py webhooks dead-letters`).")
    webhook_retry_base_seconds: float = setting(5.0, "Wait before the first retry of a failed delivery; doubles "
                                                "with each attempt.")
    webhook_retry_max_seconds: float = setting(3600.0, "The longest wait between two attempts of a delivery.")
    webhook_lease_seconds: float = setting(60.0, "How long a server process holds a delivery it is making "
                                           "before another may take it (more than WEBHOOK_TIMEOUT_SECONDS).")

    def __post_init__(self) -> None:
        check(0 < self.webhook_timeout_seconds <= 60, "WEBHOOK_TIMEOUT_SECONDS", "must be above 0, at most 60")
        check(self.webhook_max_attempts >= 1, "WEBHOOK_MAX_ATTEMPTS", "must be at least 1")
        check(self.webhook_retry_base_seconds > 0, "WEBHOOK_RETRY_BASE_SECONDS", "must be positive")
        check(self.webhook_retry_max_seconds >= self.webhook_retry_base_seconds, "WEBHOOK_RETRY_MAX_SECONDS",
              "must be at least WEBHOOK_RETRY_BASE_SECONDS")
        check(self.webhook_lease_seconds > self.webhook_timeout_seconds, "WEBHOOK_LEASE_SECONDS",
              "must be longer than WEBHOOK_TIMEOUT_SECONDS")

    def hook(self, name: str) -> HookConfig | None:
        return next((hook for hook in self.hooks if hook.name == name), None)
