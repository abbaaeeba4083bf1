"""The indexes the stores need: found by key pattern, refused with the name of what is really there, built in the
background while MongoDB cannot be reached, and never skipped by a write that relies on one.

These run on the test database (in memory, or TEST_MONGO_URL's server). "MongoDB is down" is its `command` failing
as the driver fails when no server answers: readiness and the index build both start with one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pymongo import IndexModel
from pymongo.errors import ServerSelectionTimeoutError
from support.api import eventually
from support.mongo import MongoDatabases

from runtime import serving
from runtime.startup import prepared
from services.config import Config
from services.infra import IndexBuildFailed, IndexConflict, redis_client
from services.outcomes import UNAVAILABLE
from services.wiring import Services, build_services, start_services, stop_services


def built(config: Config, database: Any) -> Services:
    return build_services(config, database, redis_client(config.redis_url, config.redis_timeout_seconds))


async def down(*args: Any, **kwargs: Any) -> Any:
    raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")


@asynccontextmanager
async def started_while_down(config: Config, database: Any, monkeypatch: pytest.MonkeyPatch,
                             **options: Any) -> AsyncIterator[Services]:
    """Services started while MongoDB cannot be reached; `monkeypatch.undo()` brings it back."""
    services = built(config, database)
    monkeypatch.setattr(database, "command", down)
    await start_services(services, **options)  # does not raise: MongoDB being down is no reason not to start
    try:
        yield services
    finally:
        await stop_services(services)


async def index_names(collection: Any) -> list[str]:
    return sorted([doc["name"] async for doc in await collection.list_indexes()])


@pytest.mark.gen_test(timeout=30)
async def test_our_keys_under_another_name_with_the_same_options_are_used_as_they_are(
        config: Config, database: Any) -> None:
    await database.users.create_index([("email", 1)], name="email_1", unique=True)  # made by hand
    services = built(config, database)
    await start_services(services)
    try:
        assert await index_names(database.users) == ["_id_", "created_at_id", "email_1", "email_key_unique",
                                                     "picture"]  # no second email index
        # email index
        await services.users.create("omar@quazi.co", "Omar", "hash")
        with pytest.raises(Exception, match="email"):
            await services.users.create("omar@quazi.co", "Omar again", "hash")  # still unique
    finally:
        await stop_services(services)


@pytest.mark.parametrize(("keys", "options", "found"), [
    ([("email", 1)], {"name": "email_1"}, 'users.email_1 ({email: 1}, no options)'),  # not unique
    ([("email", 1)], {"name": "by_mail", "unique": True, "sparse": True}, "users.by_mail ({email: 1}, unique=True, "
                                                                           "sparse=True)"),
    ([("name", 1)], {"name": "email_unique"}, "users.email_unique ({name: 1}, no options)"),  # our name, other keys
])
@pytest.mark.gen_test(timeout=30)
async def test_an_index_that_differs_stops_the_start_naming_the_index_really_there(
        config: Config, database: Any, keys: list[tuple[str, int]], options: dict[str, Any], found: str) -> None:
    """Item "Indexes": before, the message named our index (email_unique) and told to drop that, whatever was there."""
    await database.users.create_index(keys, **options)
    services = built(config, database)
    with pytest.raises(IndexConflict) as raised:
        await start_services(services)
    message = str(raised.value)
    assert f"MongoDB index {found} is not the index this version needs: users.email_unique {{email: 1}} unique" \
        in message
    assert f'db.users.dropIndex("{options["name"]}")' in message
    await stop_services(services)


@pytest.mark.gen_test(timeout=30)
async def test_duplicates_met_while_building_a_unique_index_stop_the_start_with_exit_2(
        config: Config, database: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Item "Indexes": a clear message and exit code 2, not a traceback, and not the duplicated address."""
    for uid in ("a", "b"):
        await database.users.insert_one({"_id": uid, "email": "twice@example.com"})
    monkeypatch.setattr(serving, "mongo_database", lambda config: database)
    with caplog.at_level(logging.CRITICAL, logger="auth.server"), prepared(config) as ready:
        assert await serving.serve(config, ready, worker=True) == 2  # alone, serve_process says it the same way
    message = caplog.text
    assert "cannot start: MongoDB cannot build the unique index users.email_unique {email: 1} unique: some " \
           "documents share a value of email" in message
    assert 'db.users.aggregate([{$group: {_id: {email: "$email"}' in message
    assert "twice@example.com" not in message and "Traceback" not in message


@pytest.mark.gen_test(timeout=30)
async def test_a_server_started_while_mongodb_is_down_turns_ready_once_it_answers(
        config: Config, database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item "Start without MongoDB"; over HTTP against the real driver: tests/infra/test_mongo_outages.py."""
    async with started_while_down(config, database, monkeypatch) as services:
        readiness = services.operations.readiness
        assert (await readiness.checks())["mongo"] == "unavailable"
        assert not services.indexes.built
        monkeypatch.undo()
        assert (await readiness.checks())["mongo"] == "ok"  # the probe made the indexes at once
        assert services.indexes.built
        assert "email_unique" in await index_names(database.users)


@pytest.mark.gen_test(timeout=30)
async def test_while_the_indexes_are_missing_a_sign_up_answers_503_rather_than_skip_the_unique_index(
        config: Config, database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two sign-ups of one address landing before the unique index exists would stop every later start."""
    async with started_while_down(config, database, monkeypatch) as services:  # the collections still take writes
        with pytest.raises(Exception) as raised:
            await services.users.create("omar@quazi.co", "Omar", "hash")
        assert getattr(raised.value, "code", None) == UNAVAILABLE.code
        assert await database.users.count_documents({}) == 0
        monkeypatch.undo()
        await services.users.create("omar@quazi.co", "Omar", "hash")  # the write builds them first
        assert services.indexes.built


@pytest.mark.gen_test(timeout=30)
async def test_the_indexes_are_retried_in_the_background_until_mongodb_answers(
        config: Config, database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async with started_while_down(config, database, monkeypatch) as services:
        monkeypatch.undo()  # no request, no probe: only the background retries can make them
        assert await eventually(lambda: _true(services.indexes.built), within=5)
        assert await index_names(database.identities) == ["_id_", "provider_subject_unique", "uid_provider_unique"]


@pytest.mark.gen_test(timeout=30)
async def test_a_conflict_found_in_the_background_stops_the_server(
        config: Config, database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    failures: list[IndexBuildFailed] = []
    async with started_while_down(config, database, monkeypatch, on_fatal=failures.append) as services:
        await database.users.create_index([("email", 1)], name="email_1")  # someone's, while we were waiting
        monkeypatch.undo()
        assert await eventually(lambda: _true(bool(failures)), within=5)
        assert isinstance(failures[0], IndexConflict) and "users.email_1" in str(failures[0])
        assert not services.indexes.built


@pytest.mark.gen_test(timeout=30)
async def test_on_a_replica_set_the_build_commits_with_a_majority_of_voting_members(
        config: Config, databases: MongoDatabases, database: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item "Replica sets": MongoDB's default quorum (all voting members) hangs a first start with one member down.
    A real replica set is told the same: tests/infra/test_real_mongo.py."""
    if databases.real:
        pytest.skip("the in-memory store stands in for a replica set member here")

    async def replica_set_member(command: Any) -> dict[str, Any]:
        return {"setName": "rs0", "isWritablePrimary": True, "ok": 1.0}

    monkeypatch.setattr(database, "command", replica_set_member)
    services = built(config, database)
    asked: list[dict[str, Any]] = []
    create_indexes = services.users._users.create_indexes

    async def recording(indexes: list[IndexModel], **command: Any) -> Any:
        asked.append(command)
        assert all("commitQuorum" not in index.document for index in indexes)  # the command's, not the index's
        return await create_indexes(indexes, **command)

    monkeypatch.setattr(services.users._users, "create_indexes", recording)
    await start_services(services)
    try:
        assert asked and all(options["commitQuorum"] == "majority" for options in asked)
    finally:
        await stop_services(services)


async def _true(value: bool) -> bool:
    return value
