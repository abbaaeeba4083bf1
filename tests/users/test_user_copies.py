"""Each process keeps copies of users for authenticated requests (services/users/cache.py); a change made through
any other process is seen on the very next request all the same (issue 14).

"Another process" is a second `build_services` in this test process, on the same Redis and the same database (the
in-memory store's, or TEST_MONGO_URL's through a client of its own), serving HTTP on a port of its own: exactly
what two server processes share, with nothing else shared (each has its own Redis client, token cache and copies).
Each test first has the other process read the user, so that it holds a copy, then changes the user here.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import tornado.httpclient
import tornado.httpserver
import tornado.testing
from support.api import Api, assert_error, login_tokens
from support.mongo import MongoDatabases

from handlers.application import make_app
from services.config import Config, load_config
from services.infra import mongo_database, redis_client
from services.outcomes import ServiceUnavailable
from services.users import PendingEmailChange
from services.wiring import Services, build_services, start_services, stop_services

REVOKED = "auth/token-revoked"


@dataclass
class Process:
    services: Services
    api: Api


@pytest.fixture
def other(config: Config, database: Any, databases: MongoDatabases, io_loop: Any) -> Iterator[Process]:
    """A second server process on the test's Redis and database."""
    if databases.real:
        shared = mongo_database(load_config(None, environ={}, mongo_url=databases.url_of(database)))
    else:  # the same in-memory store, through a handle of its own
        shared = database.client.get_database(database.name)
    built = build_services(config, shared, redis_client(config.redis_url, config.redis_timeout_seconds))
    io_loop.run_sync(lambda: start_services(built))
    sock, port = tornado.testing.bind_unused_port()
    server = tornado.httpserver.HTTPServer(make_app(built))
    server.add_sockets([sock])
    client = tornado.httpclient.AsyncHTTPClient(force_instance=True)
    yield Process(built, Api(client, f"http://127.0.0.1:{port}"))
    client.close()
    server.stop()
    io_loop.run_sync(lambda: stop_services(built))


async def held_by(process: Process, tokens: dict[str, str]) -> dict[str, Any]:
    """The user as `process` answers GET /user, which leaves it a copy."""
    answer = await process.api.get("/user", token=tokens["access_token"])
    assert answer.status == 200, answer.body
    assert len(process.services.users._cache) == 1
    return answer.json


@pytest.mark.redis_cluster_too
@pytest.mark.gen_test(timeout=30)
async def test_a_new_name_is_seen_by_the_other_process_at_once(api: Api, other: Process) -> None:
    tokens = await api.signed_up_tokens()
    assert (await held_by(other, tokens))["name"] == "Omar Quazi"
    assert (await api.patch("/user", {"name": "Omar Q"}, token=tokens["access_token"])).status == 200
    assert (await other.api.get("/user", token=tokens["access_token"])).json["name"] == "Omar Q"


@pytest.mark.gen_test(timeout=30)
async def test_disabling_is_seen_by_the_other_process_at_once(api: Api, services: Services, other: Process) -> None:
    tokens = await api.signed_up_tokens()
    await held_by(other, tokens)
    user = await services.accounts.lifecycle.find("omar@quazi.co")
    await services.accounts.lifecycle.disable(user)  # `python server.py users disable`
    assert_error(await other.api.get("/user", token=tokens["access_token"]), 401, REVOKED)


@pytest.mark.gen_test(timeout=30)
async def test_the_disabled_flag_alone_is_seen_by_the_other_process_at_once(api: Api, services: Services,
                                                                          other: Process) -> None:
    """Without the sessions ending too: the copy's version alone tells the other process."""
    tokens = await api.signed_up_tokens()
    uid = (await held_by(other, tokens))["uid"]
    await services.users.update(uid, {"disabled": True})
    assert_error(await other.api.get("/user", token=tokens["access_token"]), 401, REVOKED)


@pytest.mark.gen_test(timeout=30)
async def test_a_deletion_is_seen_by_the_other_process_at_once(api: Api, services: Services, other: Process) -> None:
    tokens = await api.signed_up_tokens(fresh=True)
    await held_by(other, tokens)
    assert (await api.request("DELETE", "/user", token=tokens["access_token"])).status == 200
    assert_error(await other.api.get("/user", token=tokens["access_token"]), 401, REVOKED)


@pytest.mark.gen_test(timeout=30)
async def test_the_document_deleted_alone_is_seen_by_the_other_process_at_once(api: Api, services: Services,
                                                                             other: Process) -> None:
    """Without its Redis keys going too (the sessions stay): the copy's version alone tells the other process."""
    tokens = await api.signed_up_tokens()
    uid = (await held_by(other, tokens))["uid"]
    assert await services.users.delete(uid) is not None
    assert_error(await other.api.get("/user", token=tokens["access_token"]), 401, REVOKED)


@pytest.mark.gen_test(timeout=30)
async def test_an_email_change_is_seen_by_the_other_process_at_once(api: Api, services: Services,
                                                                   other: Process) -> None:
    tokens = await api.signed_up_tokens()
    uid = (await held_by(other, tokens))["uid"]
    user = await services.users.find_by_uid(uid)
    now = int(time.time())
    change = PendingEmailChange(id=uuid.uuid4().hex, email="new@quazi.co", requested_at=now, expires_at=now + 600,
                                current_must_confirm=False)
    assert await services.users.start_email_change(uid, user.token_epoch, change) is not None
    pending = await other.api.get("/user/email-change", token=tokens["access_token"])
    assert pending.json["email_change"]["email"] == "new@quazi.co", pending.body
    assert await services.users.complete_email_change(uid, change) is not None
    assert_error(await other.api.get("/user", token=tokens["access_token"]), 401, REVOKED)  # the epoch, as ever
    # A new login's token on the other process: its copy was of the old address.
    fresh = await login_tokens(api, email="new@quazi.co")
    assert (await other.api.get("/user", token=fresh["access_token"])).json["email"] == "new@quazi.co"


@pytest.mark.gen_test(timeout=30)
async def test_a_redis_that_lost_the_version_never_revives_an_old_copy(api: Api, services: Services,
                                                                      other: Process) -> None:
    """Versions are random, not counters: a Redis that lost its data and starts over cannot hand out a value the
    other process still holds with an old copy."""
    tokens = await api.signed_up_tokens()
    uid = (await held_by(other, tokens))["uid"]
    await services.redis.delete(services.users.versions.key(uid))  # lost (a restart without its data), or expired
    assert (await other.api.get("/user", token=tokens["access_token"])).status == 200  # the store, read again
    await services.users.update(uid, {"name": "Omar Q"})
    assert (await other.api.get("/user", token=tokens["access_token"])).json["name"] == "Omar Q"


@pytest.mark.gen_test(timeout=30)
async def test_a_write_whose_version_cannot_settle_leaves_every_process_reading_the_store(
        api: Api, services: Services, other: Process, monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = await api.signed_up_tokens()
    uid = (await held_by(other, tokens))["uid"]

    async def unreachable(uid: str, mark: str) -> None:
        raise ServiceUnavailable()

    monkeypatch.setattr(services.users.versions, "settle", unreachable)
    assert (await api.patch("/user", {"name": "Omar Q"}, token=tokens["access_token"])).status == 200
    for _ in range(2):
        assert (await other.api.get("/user", token=tokens["access_token"])).json["name"] == "Omar Q"
        version = await services.redis.get(services.users.versions.key(uid))
        assert version.startswith("~")  # the pending mark, left: no process keeps a copy under it
        assert len(other.services.users._cache) == 0
    monkeypatch.undo()
    await services.users.update(uid, {"name": "Omar Quazi"})  # a later write settles it
    assert (await held_by(other, tokens))["name"] == "Omar Quazi"


@pytest.mark.gen_test(timeout=30)
async def test_without_redis_no_write_reaches_mongodb(api: Api, services: Services, other: Process,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No pending mark, no write: a change no process could be told about is refused before MongoDB has it."""
    tokens = await api.signed_up_tokens()
    uid = (await held_by(other, tokens))["uid"]

    async def unreachable(uid: str) -> str:
        raise ServiceUnavailable()

    monkeypatch.setattr(services.users.versions, "mark_pending", unreachable)
    with pytest.raises(ServiceUnavailable):
        await services.users.update(uid, {"name": "Omar Q"})
    assert (await services.users.find_by_uid(uid)).name == "Omar Quazi"
