"""What services tell the outside about themselves, as method calls: the metrics hook without a metrics library.

Services take an `Observer` in their constructor and call it unconditionally; the default does nothing, so a
service built without metrics (a CLI command, a unit test) pays one empty call. services/metrics.py has the
Prometheus implementation.
"""

from __future__ import annotations


class Observer:
    """Does nothing: the base of the Prometheus observer and the default of every service that takes one."""

    def request_finished(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP answer: `route` is the handler's name, never the raw path (bounded label values)."""

    def requests_in_flight(self, count: int) -> None:
        """This process now has `count` requests whose headers have arrived and whose answer is not written yet."""

    def login_finished(self, outcome: str) -> None:
        """`success`, or the error code the login was refused with."""

    def refresh_finished(self, outcome: str) -> None:
        """`success`, or the error code the refresh was refused with."""

    def mfa_outcome(self, action: str, outcome: str) -> None:
        """A second-factor step: `action` is `enrol-totp`, `enrol-passkey`, `verify-totp`, `verify-webauthn`,
        `verify-recovery`, `remove` or `sign-in-passkey`; `outcome` is `success` or the error code."""

    def rate_limited(self, rule: str) -> None:
        """A request or mail refused by a quota: `signup`, `token`, `mail`, `mail-address`, `login-failures` (an
        account from one network) or `login-failures-account` (an account from every network)."""

    def keyring_reloaded(self, result: str) -> None:
        """A round of the key ring's reload: `changed`, `unchanged` or `failed`."""

    def key_files_skipped(self, count: int) -> None:
        """Key pairs in the folder that could not be read (each reported once) and were left out of the ring."""

    def webhook_delivered(self, outcome: str) -> None:
        """One delivery attempt of a webhook event: `delivered`, `retry` (failed, tried again later) or `dead`."""

    def webhook_event_dropped(self) -> None:
        """An event the publisher could not keep while Redis was unreachable (its buffer was full)."""

    def close(self) -> None:
        """The server stops: release whatever the observer holds."""


NO_OBSERVER = Observer()
