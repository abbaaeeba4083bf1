"""A write whose write concern is not met (MONGO_TIMEOUT_SECONDS ran out, a stepped-down primary): 503.

The in-memory store has no replica set, so it cannot time a write concern out (a real one does:
tests/infra/test_real_mongo.py): the collection's write raises the exception
pymongo raises for a server's `writeConcernError` (built as pymongo.helpers_shared._raise_write_concern_error
builds it), below the stores, which turn it into a 503 themselves (services/infra/mongo_guard.py).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pymongo.errors import (
    AutoReconnect,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WriteConcernError,
    WTimeoutError,
)
from support.api import Api, assert_error

from services.infra import InMemoryMongo, MongoStore, mongo_guarded
from services.outcomes import UNAVAILABLE, ServiceUnavailable

TIMED_OUT = {"code": 64, "codeName": "WriteConcernFailed", "errmsg": "waiting for replication timed out",
             "errInfo": {"wtimeout": True, "writeConcern": {"w": "majority", "wtimeout": 5000}}}
STEPPED_DOWN = {"code": 11602, "codeName": "InterruptedDueToReplStateChange",
                "errmsg": "operation was interrupted because a node stepped down"}


def timed_out() -> WTimeoutError:
    return WTimeoutError(TIMED_OUT["errmsg"], TIMED_OUT["code"], TIMED_OUT)


class Failing(MongoStore):
    @mongo_guarded
    async def call(self, error: Exception) -> None:
        raise error


async def failing(error: Exception) -> None:
    await Failing(InMemoryMongo()["test"]).call(error)


@pytest.mark.parametrize("error", [timed_out(), WriteConcernError(STEPPED_DOWN["errmsg"], 11602, STEPPED_DOWN)])
@pytest.mark.gen_test
async def test_a_missed_write_concern_is_unavailable(
        error: Exception, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="auth.mongo"), pytest.raises(ServiceUnavailable) as raised:
        await failing(error)
    assert (raised.value.status, raised.value.code) == (503, UNAVAILABLE.code)
    assert raised.value.headers == {}  # when to retry is the handler layer's to say (UNAVAILABLE_RETRY_AFTER)
    assert raised.value.__cause__ is error
    assert f"write concern not met (code {error.code})" in caplog.text  # type: ignore[attr-defined]


@pytest.mark.gen_test
async def test_other_mongo_failures_are_not_hidden_as_unavailable() -> None:
    """A bad query is a bug to see (a 500 with its traceback), not a reason to tell clients to retry."""
    with pytest.raises(OperationFailure) as raised:
        await failing(OperationFailure("unknown operator: $bogus", 2))
    assert not isinstance(raised.value, WriteConcernError)


@pytest.mark.gen_test(timeout=30)
async def test_a_signup_whose_write_times_out_answers_503(api: Api, services: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    async def insert_one(document: dict[str, Any]) -> None:
        raise timed_out()

    monkeypatch.setattr(services.users._users, "insert_one", insert_one)
    response = await api.signup()
    assert_error(response, 503, UNAVAILABLE.code)
    assert response.headers["Retry-After"] == str(services.config.unavailable_retry_after)


@pytest.mark.gen_test(timeout=30)
async def test_a_name_change_whose_write_times_out_answers_503_and_the_user_still_works(
        api: Api, services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = await api.signed_up_tokens()
    async def find_one_and_update(*args: Any, **options: Any) -> None:
        raise timed_out()

    monkeypatch.setattr(services.users._users, "find_one_and_update", find_one_and_update)
    response = await api.patch("/user", {"name": "Omar Q"}, token=tokens["access_token"])
    assert_error(response, 503, UNAVAILABLE.code)
    assert "Retry-After" in response.headers
    monkeypatch.undo()
    assert (await api.get("/user", token=tokens["access_token"])).status == 200


@pytest.mark.parametrize("error", [
    ExecutionTimeout("operation exceeded time limit", 50),
    NetworkTimeout("127.0.0.1:27017: timed out"),
    ServerSelectionTimeoutError("No servers found yet"),
    AutoReconnect("connection closed"),
], ids=lambda error: type(error).__name__)
@pytest.mark.gen_test
async def test_the_drivers_timeouts_and_lost_connections_are_unavailable(error: Exception) -> None:
    """Item "Driver": ExecutionTimeout (MaxTimeMSExpired, what is left of timeoutMS ran out on the server) is an
    OperationFailure, not a ConnectionFailure: before, it was a 500."""
    with pytest.raises(ServiceUnavailable) as raised:
        await failing(error)
    assert raised.value.__cause__ is error
