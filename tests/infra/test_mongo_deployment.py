"""MongoDB for many processes: indexes made at every start, by every process; replica-set settings on the client."""

from __future__ import annotations

from typing import Any

import pytest
from mongomock_motor import AsyncMongoMockClient

from services.config import Config, ConfigError, load_config
from services.infra import IndexConflict, mongo_database, redis_client
from services.wiring import build_services, start_services, stop_services


async def started(config: Config, database: Any) -> Any:
    services = build_services(config, database, redis_client(config.redis_url, config.redis_timeout_seconds))
    await start_services(services)
    return services


@pytest.mark.gen_test(timeout=30)
async def test_two_processes_starting_on_one_database_share_its_indexes(config: Config) -> None:
    database = AsyncMongoMockClient()["shared"]
    first = await started(config, database)
    second = await started(config, database)  # a second process, or the same one restarted
    try:
        indexes = await database.users.index_information()
        assert indexes["email_unique"]["unique"] is True
        assert sorted(indexes) == ["_id_", "email_key_unique", "email_unique", "picture"]
        assert sorted(await database.identities.index_information()) == [
            "_id_", "provider_subject_unique", "uid_provider_unique"]
        await first.users.create("omar@quazi.co", "Omar", "hash")
        assert (await second.users.find_by_email("omar@quazi.co")).name == "Omar"
    finally:
        await stop_services(first)
        await stop_services(second)


@pytest.mark.gen_test(timeout=30)
async def test_an_index_with_other_options_stops_the_start_and_says_what_to_drop(config: Config) -> None:
    database = AsyncMongoMockClient()["older"]
    await database.users.create_index("email", name="email_unique")  # an older version's, not unique
    services = build_services(config, database, redis_client(config.redis_url, config.redis_timeout_seconds))
    with pytest.raises(IndexConflict) as raised:
        await start_services(services)
    message = str(raised.value)
    assert "users.email_unique already exists with other keys or options" in message
    assert "unique=True" in message
    assert 'db.users.dropIndex("email_unique")' in message
    await services.redis.aclose()


def test_write_concern_and_read_preference_reach_the_motor_client() -> None:
    config = load_config(None, environ={}, mongo_url="mongodb://127.0.0.1:1/accounts?w=1",
                         mongo_write_concern="majority", mongo_read_preference="primaryPreferred")
    database = mongo_database(config)  # Motor connects lazily: nothing is contacted here
    try:
        assert database.name == "accounts"
        assert database.write_concern.document == {"w": "majority"}
        assert database.read_preference.mongos_mode == "primaryPreferred"
        numbered = mongo_database(load_config(None, environ={}, mongo_url="mongodb://127.0.0.1:1/accounts",
                                              mongo_write_concern="2"))
        assert numbered.write_concern.document == {"w": 2}
        assert numbered.read_preference.mongos_mode == "primary"
        numbered.client.close()
    finally:
        database.client.close()


def test_an_empty_write_concern_keeps_the_one_in_mongo_url() -> None:
    database = mongo_database(load_config(None, environ={}, mongo_url="mongodb://127.0.0.1:1/accounts?w=majority"))
    try:
        assert database.write_concern.document == {"w": "majority"}
    finally:
        database.client.close()


def test_the_write_timeout_joins_the_write_concern_it_bounds() -> None:
    named = mongo_database(load_config(None, environ={}, mongo_url="mongodb://127.0.0.1:1/accounts",
                                       mongo_write_concern="majority", mongo_write_timeout_seconds=2.5))
    from_url = mongo_database(load_config(None, environ={}, mongo_url="mongodb://127.0.0.1:1/accounts?w=2",
                                          mongo_write_timeout_seconds=5))
    unbounded = mongo_database(load_config(None, environ={}, mongo_url="mongodb://127.0.0.1:1/accounts",
                                           mongo_write_concern="majority"))
    try:
        assert named.write_concern.document == {"w": "majority", "wtimeout": 2500}
        assert from_url.write_concern.document == {"w": 2, "wtimeout": 5000}
        assert unbounded.write_concern.document == {"w": "majority"}
    finally:
        for database in (named, from_url, unbounded):
            database.client.close()


@pytest.mark.parametrize(("settings", "named"), [
    ({"mongo_write_timeout_seconds": -1, "mongo_write_concern": "majority"}, "MONGO_WRITE_TIMEOUT_SECONDS"),
    ({"mongo_write_timeout_seconds": 5}, "MONGO_WRITE_TIMEOUT_SECONDS"),  # no write concern to bound
    ({"mongo_write_timeout_seconds": 5, "mongo_url": "mongodb://db/x?w=0"}, "MONGO_WRITE_TIMEOUT_SECONDS"),
    ({"mongo_write_timeout_seconds": 5, "mongo_write_concern": "0"}, "MONGO_WRITE_TIMEOUT_SECONDS"),
    ({"shutdown_delay_seconds": -0.5}, "SHUTDOWN_DELAY_SECONDS"),
    ({"mongo_write_concern": "all"}, "MONGO_WRITE_CONCERN"),
    ({"mongo_write_concern": "-1"}, "MONGO_WRITE_CONCERN"),
    ({"mongo_read_preference": "secondaryPrefered"}, "MONGO_READ_PREFERENCE"),
    ({"processes": -1, "mongo_url": "mongodb://db/x"}, "PROCESSES"),
    ({"processes": 0}, "PROCESSES"),
    ({"shutdown_timeout_seconds": 0}, "SHUTDOWN_TIMEOUT_SECONDS"),
])
def test_bad_deployment_settings_are_refused_by_name(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_config(None, environ={}, **settings)


def test_many_processes_are_fine_with_a_mongo_url() -> None:
    assert load_config(None, environ={}, processes=0, mongo_url="mongodb://db/x").processes == 0
