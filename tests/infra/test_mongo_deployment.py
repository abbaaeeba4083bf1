"""MongoDB for many processes: indexes made at every start, by every process; replica-set settings on the client."""

from __future__ import annotations

from typing import Any

import pytest

from services.config import Config, ConfigError, load_config
from services.infra import mongo_database, redis_client
from services.wiring import build_services, start_services, stop_services


async def started(config: Config, database: Any) -> Any:
    services = build_services(config, database, redis_client(config.redis_url, config.redis_timeout_seconds))
    await start_services(services)
    return services


@pytest.mark.gen_test(timeout=30)
async def test_two_processes_starting_on_one_database_share_its_indexes(config: Config,
                                                                         database: Any) -> None:
    first = await started(config, database)
    second = await started(config, database)  # a second process, or the same one restarted
    try:
        indexes = await database.users.index_information()
        assert indexes["email_unique"]["unique"] is True
        assert sorted(indexes) == ["_id_", "created_at_id", "email_key_unique", "email_unique", "picture"]
        assert sorted(await database.identities.index_information()) == [
            "_id_", "provider_subject_unique", "uid_provider_unique"]
        await first.users.create("omar@quazi.co", "Omar", "hash")
        assert (await second.users.find_by_email("omar@quazi.co")).name == "Omar"
    finally:
        await stop_services(first)
        await stop_services(second)


def client_for(**settings: Any) -> Any:
    """The server's database object for `settings`; the client connects on first use, so nothing is contacted."""
    return mongo_database(load_config(None, environ={}, **settings))


@pytest.mark.gen_test
async def test_write_concern_and_read_preference_reach_the_client() -> None:
    database = client_for(mongo_url="mongodb://127.0.0.1:1/accounts?w=1", mongo_write_concern="majority",
                          mongo_read_preference="primaryPreferred")
    numbered = client_for(mongo_url="mongodb://127.0.0.1:1/accounts", mongo_write_concern="2")
    try:
        assert database.name == "accounts"
        assert database.write_concern.document == {"w": "majority"}
        assert database.read_preference.mongos_mode == "primaryPreferred"
        assert numbered.write_concern.document == {"w": 2}
        assert numbered.read_preference.mongos_mode == "primary"
    finally:
        await numbered.client.close()
        await database.client.close()


@pytest.mark.gen_test
async def test_an_empty_write_concern_keeps_the_one_in_mongo_url() -> None:
    database = client_for(mongo_url="mongodb://127.0.0.1:1/accounts?W=majority")  # URL options ignore case
    try:
        assert database.write_concern.document == {"w": "majority"}
    finally:
        await database.client.close()


@pytest.mark.gen_test
async def test_mongo_timeout_bounds_the_whole_operation_server_selection_and_connecting() -> None:
    """Item "Driver": our own MONGO_TIMEOUT_SECONDS, not a multiple of REDIS_TIMEOUT_SECONDS as before."""
    database = client_for(mongo_url="mongodb://127.0.0.1:1/accounts", mongo_timeout_seconds=2.5,
                          redis_timeout_seconds=0.1)
    try:
        options = database.client.options
        assert options.timeout == 2.5  # timeoutMS: every operation, a write's wait for its write concern included
        assert options.server_selection_timeout == 2.5
        assert options.pool_options.connect_timeout == 2.5
    finally:
        await database.client.close()


def test_a_mongo_url_the_driver_cannot_read_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="MONGO_URL"):
        client_for(mongo_url="mongodb://127.0.0.1:1/accounts?replicaSet=rs0&directConnection=true&loadBalanced=true")


@pytest.mark.parametrize(("settings", "named"), [
    ({"mongo_write_timeout_seconds": 5, "mongo_write_concern": "majority"}, "MONGO_WRITE_TIMEOUT_SECONDS"),
    ({"mongo_timeout_seconds": 0}, "MONGO_TIMEOUT_SECONDS"),
    ({"mongo_url": "mongodb://db/x?w=0"}, "MONGO_URL"),
    ({"mongo_url": "mongodb://db/x?W=0"}, "MONGO_URL"),  # URL options ignore case: so does the check
    ({"mongo_write_concern": "0"}, "MONGO_WRITE_CONCERN"),
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


def test_a_write_concern_setting_replaces_the_w_of_mongo_url() -> None:
    assert load_config(None, environ={}, mongo_url="mongodb://db/x?w=0", mongo_write_concern="majority")


def test_many_processes_are_fine_with_a_mongo_url() -> None:
    assert load_config(None, environ={}, processes=0, mongo_url="mongodb://db/x").processes == 0
