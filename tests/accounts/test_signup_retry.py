"""Issue 12, item 15: a sign-up cut short by a Redis failure is completed by its retry, and only by its own.

The account is written to MongoDB before the verification mail is queued in Redis; when Redis fails between the
two, the answer is 503 and the account exists without its mail. Its retry, with the same password (checked
against the stored hash), finishes it: the seed's answer and the mail. Anyone else still gets 409 (or, with
EMAIL_VERIFICATION_REQUIRED, the answer everyone gets and a warning mail to the owner), and an account that
finished its sign-up is never "completed" again.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from support.api import PASSWORD, Api, assert_error, with_settings
from support.mail import SmtpServer, mail_settings, settle

from services.infra import redis_guarded


@pytest.fixture
def settings(mailbox: SmtpServer, request: pytest.FixtureRequest) -> dict[str, Any]:
    return mail_settings(mailbox, **getattr(request, "param", {}))


async def _redis_cut() -> None:
    raise RedisConnectionError("connection reset by the fault injector")


async def signup_cut_by_redis(api: Api, services: Any, monkeypatch: pytest.MonkeyPatch,
                              password: str = PASSWORD) -> None:
    """A sign-up whose verification mail cannot be queued: the account is written, the answer is 503."""
    with monkeypatch.context() as patch:
        patch.setattr(services.mail.outbox, "enqueue", lambda *args, **kwargs: redis_guarded(_redis_cut()))
        assert_error(await api.signup(password=password), 503, "auth/unavailable")
    assert await services.users.find_by_email("omar@quazi.co") is not None


@pytest.mark.gen_test(timeout=30)
async def test_the_retry_of_a_cut_sign_up_completes_it(api: Api, services: Any, mailbox: SmtpServer,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    await signup_cut_by_redis(api, services, monkeypatch)
    retry = await api.signup()
    assert (retry.status, retry.json["code"]) == (200, "auth/user-registered"), retry.body
    assert retry.json["message"] == "Successfully created your account! Login now."
    await mailbox.mail("omar@quazi.co", "Confirm")
    # Finished now: one more sign-up is an ordinary taken address, and sends nothing.
    assert_error(await api.signup(), 409, "auth/email-already-in-use")
    await settle(services.mail.outbox)
    assert len(mailbox.matching("omar@quazi.co", "Confirm")) == 1
    assert (await api.login()).status == 200


@pytest.mark.gen_test(timeout=30)
async def test_a_stranger_cannot_complete_someone_elses_cut_sign_up(api: Api, services: Any, mailbox: SmtpServer,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    await signup_cut_by_redis(api, services, monkeypatch)
    stranger = await api.signup(password="A stranger's own passphrase 9", name="Eve")
    assert_error(stranger, 409, "auth/email-already-in-use")
    await settle(services.mail.outbox)
    assert mailbox.matching("omar@quazi.co", "Confirm") == []
    assert (await api.login(password="A stranger's own passphrase 9")).status == 401
    # The owner's own retry still completes it afterwards.
    assert (await api.signup()).status == 200
    await mailbox.mail("omar@quazi.co", "Confirm")


@pytest.mark.gen_test(timeout=30)
async def test_a_finished_sign_up_is_never_completed_again(api: Api, services: Any, mailbox: SmtpServer) -> None:
    assert (await api.signup()).status == 200
    await mailbox.mail("omar@quazi.co", "Confirm")
    assert_error(await api.signup(), 409, "auth/email-already-in-use")  # the same password: still taken
    await settle(services.mail.outbox)
    assert len(mailbox.matching("omar@quazi.co", "Confirm")) == 1


@with_settings(email_verification_required=True)
@pytest.mark.gen_test(timeout=30)
async def test_with_verification_required_the_retry_mails_the_link_and_a_stranger_only_warns(
        api: Api, services: Any, mailbox: SmtpServer, monkeypatch: pytest.MonkeyPatch,
        settings: dict[str, Any]) -> None:
    await signup_cut_by_redis(api, services, monkeypatch)
    stranger = await api.signup(password="A stranger's own passphrase 9")
    retry = await api.signup()
    assert (stranger.status, stranger.body) == (retry.status, retry.body)  # no oracle either way
    assert retry.json["code"] == "auth/user-registered"
    await mailbox.mail("omar@quazi.co", "Confirm")
    await mailbox.mail("omar@quazi.co", "Someone tried")
    await settle(services.mail.outbox)
    assert len(mailbox.matching("omar@quazi.co", "Confirm")) == 1
