"""Which audit lines become which webhook events (issue 17), and what their data holds: unit tests of the mapping."""

from __future__ import annotations

from services.hooks import event_from_audit


def test_a_refused_login_with_the_right_password_is_a_failed_login_with_its_reason() -> None:
    for audit, reason in (("login.disabled", "disabled"), ("login.unverified", "email_not_verified")):
        event = event_from_audit(audit, {"uid": "u1", "ip": "192.0.2.7", "ts": 86400})
        assert event is not None and event.type == "login.failed"
        assert event.data == {"user_id": "u1", "ip": "192.0.2.7", "reason": reason}
        assert event.timestamp == "1970-01-02T00:00:00Z" and event.id.startswith("evt_")


def test_no_event_without_an_account_and_no_detail_outside_the_allow_list() -> None:
    assert event_from_audit("login.failed", {"uid": None, "ip": "192.0.2.7", "account": "ref"}) is None
    assert event_from_audit("login.limited", {"uid": "u1"}) is None
    event = event_from_audit("password.changed", {"uid": "u1", "password_hash": "$2b$...", "token": "t"})
    assert event is not None and event.data == {"user_id": "u1"}


def test_second_factors_and_an_upgraded_anonymous_account_are_events_too() -> None:
    added = event_from_audit("mfa.factor_added", {"uid": "u1", "sid": "s1", "ip": "192.0.2.7", "factor_id": "f1",
                                                  "type": "totp"})
    assert added is not None and added.type == "mfa.factor_added"
    assert added.data == {"user_id": "u1", "session_id": "s1", "ip": "192.0.2.7", "factor_id": "f1", "type": "totp"}
    reset = event_from_audit("mfa.reset", {"uid": "u1", "factors": 2})
    assert reset is not None and reset.type == "mfa.factor_removed" and reset.data == {"user_id": "u1", "all": True}
    upgraded = event_from_audit("account.upgraded", {"uid": "u1", "ip": "192.0.2.7", "via": "phone"})
    assert upgraded is not None and upgraded.type == "user.updated"
    assert upgraded.data == {"user_id": "u1", "ip": "192.0.2.7", "via": "phone", "upgraded": True}
