"""Webhook events: which audit events become which webhook events, and what a receiver is told about each.

The audit log (services/operations/audit.py) already records every event a receiver may want, at the one moment
it happens, on every path (a password or social login, the user's own change or an admin's): the webhooks
listen to it, so no path can forget to publish. What the audit line holds is mapped to the event's `data`
through an allow-list: the user's id, the session, the client's address and a few named details; never a
password, a hash, a token, a link or a typed address (which the audit line does not hold either).

Payload, per Standard Webhooks: `{"type": "user.created", "timestamp": "2026-12-01T10:00:00Z", "data": {...}}`;
the event's id (`evt_...`) is the `webhook-id` of every delivery of it, to every endpoint, on every retry.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

from services.infra import MessageCodec

# audit event -> (webhook event, extra data)
AUDIT_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "signup": ("user.created", {}),
    "account.created": ("user.created", {}),
    "account.imported": ("user.created", {"imported": True}),
    "account.updated": ("user.updated", {}),
    "account.deleted": ("user.deleted", {}),
    "account.disabled": ("user.disabled", {}),
    "account.enabled": ("user.enabled", {}),
    "login.ok": ("login.succeeded", {}),
    "login.failed": ("login.failed", {}),
    # The right password, but the login is refused all the same: for the receiver, a failed login with its reason.
    "login.disabled": ("login.failed", {"reason": "disabled"}),
    "login.unverified": ("login.failed", {"reason": "email_not_verified"}),
    "session.revoked": ("session.revoked", {"reason": "revoked"}),
    "session.evicted": ("session.revoked", {"reason": "evicted"}),
    "logout": ("session.revoked", {"reason": "logout"}),
    "logout.all": ("session.revoked", {"reason": "logout_all", "all": True}),
    "sessions.ended": ("session.revoked", {"reason": "admin", "all": True}),
    "password.changed": ("password.changed", {}),
    "password.reset": ("password.changed", {"reset": True}),
    "email.changed": ("email.changed", {}),
    "refresh.reuse_detected": ("refresh.reuse_detected", {}),
    # Second factors and passkeys (services/mfa): each one added or removed, and an operator's reset of them all.
    "mfa.factor_added": ("mfa.factor_added", {}),
    "mfa.factor_removed": ("mfa.factor_removed", {}),
    "mfa.reset": ("mfa.factor_removed", {"all": True}),
    # An anonymous account given a way back in (services/passwordless): from now on a full account.
    "account.upgraded": ("user.updated", {"upgraded": True}),
}
# Details of an audit line a receiver may see, by the name it has there.
SHARED_DETAILS = ("provider", "fresh", "failures", "method", "by", "admin_key", "fields", "factor_id", "type", "via")
# Events whose data carries the user as stored when the event is queued.
WITH_USER = frozenset({"user.created", "user.updated", "user.enabled", "user.disabled", "email.changed"})


@dataclass(frozen=True)
class WebhookEvent:
    """One event, before it is fanned out to the endpoints that subscribe to it."""

    id: str
    type: str
    timestamp: str
    uid: str
    data: dict[str, Any]

    def payload(self) -> dict[str, Any]:
        return {"type": self.type, "timestamp": self.timestamp, "data": self.data}


@dataclass(frozen=True)
class WebhookDelivery:
    """The queued intent "deliver this event to this endpoint"; `lane` keeps one user's events in order there."""

    kind: ClassVar[str] = "webhook"
    lane: str
    url: str
    event_id: str
    type: str
    timestamp: str
    data: dict[str, Any] = field(default_factory=dict)


WEBHOOK_MESSAGES: MessageCodec[WebhookDelivery] = MessageCodec([WebhookDelivery])


def event_from_audit(event: str, fields: dict[str, Any]) -> WebhookEvent | None:
    """The webhook event an audit line stands for, if any (a failed login only for an account that exists)."""
    mapped = AUDIT_EVENTS.get(event)
    uid = fields.get("uid")
    if mapped is None or not isinstance(uid, str):
        return None
    webhook_type, extra = mapped
    data: dict[str, Any] = {"user_id": uid}
    if fields.get("sid"):
        data["session_id"] = fields["sid"]
    if fields.get("ip"):
        data["ip"] = fields["ip"]
    data.update({name: fields[name] for name in SHARED_DETAILS if name in fields})
    data.update(extra)
    return WebhookEvent(id=f"evt_{uuid.uuid4().hex}", type=webhook_type,
                        timestamp=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(fields.get("ts") or time.time())),
                        uid=uid, data=data)


def lane_of(url: str, uid: str) -> str:
    """One lane per endpoint and user: the endpoint by a digest of its URL (a queue key names no URL)."""
    return f"{hashlib.sha256(url.encode()).hexdigest()[:16]}:{uid}"

