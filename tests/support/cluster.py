"""A real Redis Cluster for the tests: three primaries (no replicas) from the same redis-server binary.

Each node is an `EmbeddedRedis` with `--cluster-enabled yes` in a folder of its own; the slots are split
in three with CLUSTER ADDSLOTS and the nodes introduced with CLUSTER MEET. The cluster's layout lives in
each node's `nodes.conf`, so `stop()` then `start()` brings the same cluster back (the outage test).
"""

from __future__ import annotations

import random
import socket
import time
from pathlib import Path

import redis

from services.infra import EmbeddedRedis

SLOTS = 16384
BUS_PORT_OFFSET = 10_000  # Redis 6.2 talks to other nodes on port + 10000; both must be free


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_cluster_port(taken: set[int]) -> int:
    """A free port below the kernel's ephemeral range whose cluster bus port is free too."""
    while True:
        port = random.randint(20_000, 32_000)  # noqa: S311 (a port number, not a secret)
        pair = {port, port + BUS_PORT_OFFSET}
        if not pair & taken and all(_bindable(each) for each in pair):
            taken.update(pair)
            return port


class RedisClusterServers:
    """Start with `start()`, connect with `url` (`redis+cluster://` with every node as a seed), end with `stop()`."""

    def __init__(self, folder: Path, nodes: int = 3, persistent: bool = False) -> None:
        """`persistent` keeps an append-only file per node, so data survives `stop()` and `start()`."""
        taken: set[int] = set()
        self.ports = [free_cluster_port(taken) for _ in range(nodes)]
        self.nodes = [
            EmbeddedRedis(folder / f"node-{port}", port=port, persistent=persistent,
                          extra_args=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                                      "--cluster-node-timeout", "1000"))
            for port in self.ports
        ]

    @property
    def url(self) -> str:
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start(self, timeout: float = 20.0) -> None:
        try:
            for node in self.nodes:
                node.start()
            clients = [redis.Redis(port=port, decode_responses=True) for port in self.ports]
            if int(clients[0].cluster("INFO")["cluster_slots_assigned"]) == 0:  # a first start, not a restart
                self._form(clients)
            deadline = time.monotonic() + timeout
            while not all(client.cluster("INFO")["cluster_state"] == "ok" for client in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not reach cluster_state:ok in time")
                time.sleep(0.05)
            for client in clients:
                client.close()
        except BaseException:
            self.stop()
            raise

    def _form(self, clients: list[redis.Redis]) -> None:
        share = SLOTS // len(clients)
        for index, client in enumerate(clients):
            last = SLOTS if index == len(clients) - 1 else (index + 1) * share
            client.execute_command("CLUSTER ADDSLOTS", *range(index * share, last))
        for client in clients[1:]:
            client.execute_command("CLUSTER MEET", "127.0.0.1", self.ports[0])

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
