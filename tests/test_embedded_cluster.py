"""The embedded Valkey Cluster forms with 3 primaries and 3 replicas, keeps its data across
restarts and crashed runs, moves slots, and survives losing a primary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot

from fairhub.embedded_cluster import EmbeddedRedisCluster

# Slots 3300, 7365 and 15495: one tag on each of the three primaries as first formed.
TAGS = ["b", "c", "a"]


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[EmbeddedRedisCluster]]:
    """Clusters to stop even when a test fails, so that no test leaves a server behind."""
    started: list[EmbeddedRedisCluster] = []
    try:
        yield started
    finally:
        for cluster in reversed(started):
            cluster.stop()
        assert [n.port for c in started for n in c.nodes if n.is_running()] == []


@pytest.fixture
def cluster(clusters: list[EmbeddedRedisCluster], tmp_path: Path) -> EmbeddedRedisCluster:
    cluster = EmbeddedRedisCluster(tmp_path / "cluster")
    clusters.append(cluster)
    cluster.start()
    return cluster


@asynccontextmanager
async def connect(url: str) -> AsyncIterator[RedisCluster]:
    """A cluster client with the url's startup nodes (redis-py has no redis+cluster scheme)."""
    addresses = url.partition("://")[2].split(",")
    nodes = [
        ClusterNode(host, int(port)) for host, _, port in (a.rpartition(":") for a in addresses)
    ]
    client = RedisCluster(startup_nodes=nodes, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def write(client: RedisCluster, tag: str, count: int = 20) -> dict[str, str]:
    keys = {f"{{{tag}}}:key:{i}": f"value {i}" for i in range(count)}
    for key, value in keys.items():
        await client.set(key, value)
    return keys


async def read(client: RedisCluster, keys: dict[str, str]) -> dict[str, str | None]:
    return {key: await client.get(key) for key in keys}


async def test_cluster_has_three_shards_and_serves_keys(cluster: EmbeddedRedisCluster) -> None:
    assert cluster.url.startswith("redis+cluster://127.0.0.1:")
    assert len(cluster.primaries()) == 3
    async with connect(cluster.url) as client:
        written = {tag: await write(client, tag) for tag in TAGS}
        for keys in written.values():
            assert await read(client, keys) == keys
        owners = {client.get_node_from_key(f"{{{tag}}}:key:0").port for tag in TAGS}
        assert owners == {n.port for n in client.get_primaries()}
        assert sorted(owners) == cluster.primaries()
        replicas = client.get_replicas()
        assert len(replicas) == 3
        assert {r.port for r in replicas}.isdisjoint(owners)
        shards = await client.cluster_shards(target_nodes=RedisCluster.RANDOM)
        roles = sorted(sorted(n["role"] for n in s["nodes"]) for s in shards)
        assert roles == [["master", "replica"]] * 3
        assert all(s["slots"] for s in shards)
        assert {n["health"] for s in shards for n in s["nodes"]} == {"online"}


async def test_data_survives_a_crashed_run_and_a_restart(
    cluster: EmbeddedRedisCluster, clusters: list[EmbeddedRedisCluster]
) -> None:
    async with connect(cluster.url) as client:
        keys = {k: v for tag in TAGS for k, v in (await write(client, tag)).items()}
    # A new run on the same data dir while the old servers still run: they are stopped first.
    again = EmbeddedRedisCluster(cluster.data_dir)
    clusters.append(again)
    again.start()
    assert again.url == cluster.url
    async with connect(again.url) as client:
        assert await read(client, keys) == keys
    again.stop()
    assert not any(node.is_running() for node in again.nodes)
    again.start()
    async with connect(again.url) as client:
        assert await read(client, keys) == keys
        await client.set("{b}:after", "restart")


async def test_migrate_slot_moves_the_keys(cluster: EmbeddedRedisCluster) -> None:
    async with connect(cluster.url) as client:
        keys = await write(client, "b", count=250)  # more than one MIGRATE batch
        slot = key_slot(b"{b}")
        source = cluster.primary_of_slot(slot)
        target = next(port for port in cluster.primaries() if port != source)
        cluster.migrate_slot(slot, target)
        assert cluster.primary_of_slot(slot) == target
        assert await read(client, keys) == keys  # the client follows MOVED
        assert client.get_node_from_key("{b}:key:0").port == target
    async with Redis(port=target, decode_responses=True) as direct:
        assert await direct.execute_command("CLUSTER COUNTKEYSINSLOT", slot) == len(keys)


async def test_a_replica_takes_over_from_a_killed_primary(cluster: EmbeddedRedisCluster) -> None:
    slot = key_slot(b"{c}")
    old = cluster.primary_of_slot(slot)
    keys = {f"{{c}}:key:{i}": f"value {i}" for i in range(50)}
    # WAITAOF counts the writes of its own connection: one connection, straight to the primary.
    async with Redis(port=old, decode_responses=True, single_connection_client=True) as direct:
        for key, value in keys.items():
            await direct.set(key, value)
        assert await direct.execute_command("WAITAOF", 1, 1, 2000) == [1, 1]
    new = cluster.kill_primary_of_slot(slot)
    killed = next(node for node in cluster.nodes if node.port == old)
    assert not killed.is_running()
    assert new == cluster.nodes[cluster.nodes.index(killed) + 3].port  # its replica
    assert new in cluster.primaries() and old not in cluster.primaries()
    async with connect(cluster.url) as client:
        assert await read(client, keys) == keys
        await client.set("{c}:after", "failover")
    killed.start()  # the old primary comes back as a replica of the new one
    cluster.wait_ready()
    assert old not in cluster.primaries() and len(cluster.primaries()) == 3
    async with Redis(port=old, decode_responses=True) as direct:
        assert (await direct.info("replication"))["master_port"] == new
