"""Hooks and webhooks: the backend's own services, called by this server.

Auth hooks (`HOOKS`) are synchronous: the request waits for them (`before_signup` decides whether an account
may be made, `custom_access_token` adds claims, `send_email` and `send_sms` deliver for the mail and SMS
outboxes). Webhooks (`WEBHOOKS`) are asynchronous: events the audit log records are queued durably and delivered
in order per user, at least once. Every call is signed per the Standard Webhooks specification.
"""

from services.hooks.auth_hooks import MAX_CLAIMS_BYTES, PROTECTED_CLAIMS, AuthHooks, hook_payload
from services.hooks.events import AUDIT_EVENTS, WEBHOOK_MESSAGES, WebhookDelivery, WebhookEvent, event_from_audit
from services.hooks.publisher import WebhookPublisher
from services.hooks.senders import HookMailer, HookSmsSender
from services.hooks.signed_http import HookAnswer, HookFailure, SignedPoster
from services.hooks.webhook_worker import WebhookWorker

__all__ = ["AUDIT_EVENTS", "MAX_CLAIMS_BYTES", "PROTECTED_CLAIMS", "WEBHOOK_MESSAGES", "AuthHooks", "HookAnswer",
           "HookFailure", "HookMailer", "HookSmsSender", "SignedPoster", "WebhookDelivery",
           "WebhookEvent", "WebhookPublisher", "WebhookWorker", "event_from_audit", "hook_payload"]
