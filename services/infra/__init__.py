"""Infrastructure: the MongoDB and Redis clients, the rules that turn their outages into 503s, and small tools on
top of them (index creation, per-user locks, background jobs, the durable outbox and its worker, the Redis server we
run ourselves)."""

from services.infra.backends import (
    check_redis_mode,
    embedded_redis,
    is_cluster_url,
    mongo_database,
    mongo_hosts,
    probe_writes,
    redis_address,
    redis_client,
)
from services.infra.embedded_redis import EmbeddedRedis, redis_server_binary
from services.infra.files import create_once
from services.infra.index_build import IndexBuild
from services.infra.locks import UserLocks
from services.infra.memory_mongo import InMemoryMongo
from services.infra.mongo_guard import MongoStore, is_mongo_down, mongo_guarded, mongo_guarded_bulk, mongo_outages
from services.infra.mongo_indexes import DuplicateValues, Index, IndexBuildFailed, IndexConflict
from services.infra.ordered_outbox import OrderedOutbox
from services.infra.outbox import Claimed, MessageCodec, Outbox, QueueKeys
from services.infra.outbox_worker import DeliveryOutcome, OutboxWorker
from services.infra.periodic import PeriodicTask
from services.infra.redis_guard import is_redis_down, is_refusing_writes, redis_guarded
from services.infra.redis_reads import BatchedReads, ClientReads, StateReads, state_reads

__all__ = [
    "BatchedReads",
    "Claimed",
    "ClientReads",
    "DeliveryOutcome",
    "DuplicateValues",
    "EmbeddedRedis",
    "InMemoryMongo",
    "Index",
    "IndexBuild",
    "IndexBuildFailed",
    "IndexConflict",
    "MessageCodec",
    "MongoStore",
    "OrderedOutbox",
    "Outbox",
    "OutboxWorker",
    "PeriodicTask",
    "QueueKeys",
    "StateReads",
    "UserLocks",
    "check_redis_mode",
    "create_once",
    "embedded_redis",
    "is_cluster_url",
    "is_mongo_down",
    "is_redis_down",
    "is_refusing_writes",
    "mongo_database",
    "mongo_guarded",
    "mongo_guarded_bulk",
    "mongo_hosts",
    "mongo_outages",
    "probe_writes",
    "redis_address",
    "redis_client",
    "redis_guarded",
    "redis_server_binary",
    "state_reads",
]
