"""FairHub on a Valkey Cluster of 3 primaries and 3 replicas: every shard confirms its own
appends before a 202, and a replay stays exact through a worker's death, a slot migration and
a primary's death (its replica takes over).

These tests run on a cluster only (conftest.py). The chaos test has a cluster of its own, so
killing a node never disturbs the session's.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from support import Gateway, event, eventually, make_settings, totals, worker_process

from fairhub import keys
from fairhub.embedded_cluster import EmbeddedRedisCluster
from fairhub.redis import open_redis


async def _fairs_on_every_primary(gateway: Gateway, redis: RedisCluster) -> list[tuple[str, str]]:
    """Fairs whose partitions live on each of the primaries (a fair's node: its stream's)."""
    fairs: dict[str, tuple[str, str]] = {}
    while len(fairs) < len(redis.get_primaries()):
        fair, token = await gateway.create_fair()
        node = redis.get_node_from_key(keys.stream(fair))
        assert node is not None
        fairs.setdefault(node.name, (fair, token))
    return list(fairs.values())


async def _waitaof_calls(redis: RedisCluster) -> dict[str, int]:
    """How often each primary has run WAITAOF (INFO commandstats)."""
    calls = {}
    for node in redis.get_primaries():
        client = Redis(host=node.host, port=node.port)
        try:
            stats = await client.info("commandstats")
        finally:
            await client.aclose()
        calls[node.name] = int(stats.get("cmdstat_waitaof", {}).get("calls", 0))
    return calls


async def test_every_primary_that_took_appends_confirms_them(
    gateway: Gateway, redis: RedisCluster, settings: Any
) -> None:
    assert isinstance(redis, RedisCluster) and settings.waitaof_replicas == 1
    fairs = await _fairs_on_every_primary(gateway, redis)
    before = await _waitaof_calls(redis)
    # Concurrent requests for fairs on every shard: flushes that span the shards.
    results = await asyncio.gather(
        *(gateway.post(fair, token, [event("checkin", seeker_id=f"S{n}")])
          for n, (fair, token) in enumerate(fairs * 20))
    )  # fmt: skip
    assert all(r[0]["status"] == "accepted" for r in results)
    after = await _waitaof_calls(redis)
    # Each primary ran its own WAITAOF for the appends it took (a single WAITAOF on one
    # node for a flush spanning the shards would leave the others' counts unmoved).
    assert all(after[node] > before[node] for node in before), (before, after)


@pytest.fixture
def chaos_cluster(tmp_path: Path) -> Iterator[EmbeddedRedisCluster]:
    cluster = EmbeddedRedisCluster(tmp_path / "chaos")
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


class Replay:
    """Kiosks and phones sending batches; a 503 (a shard failing over, a slot moving) is
    retried with the same ids until it is a 202, as a kiosk does. Counts what got 202s."""

    def __init__(self, gateway: Gateway, fairs: list[tuple[str, str]]) -> None:
        self.gateway = gateway
        self.fairs = fairs
        self.acknowledged: dict[str, dict[str, dict[str, Any]]] = {f: {} for f, _ in fairs}
        self.retries = 0
        self.rounds = 0

    async def send(self, fair: str, token: str, batch: list[dict[str, Any]]) -> None:
        url = f"/v1/fairs/{fair}/events"
        for _ in range(200):
            status, body = await self.gateway.request("POST", url, token, json={"events": batch})
            if status == 202:
                for sent, result in zip(batch, body["results"], strict=True):
                    assert result["status"] in ("accepted", "duplicate"), result
                    self.acknowledged[fair][sent["id"]] = sent
                return
            assert status == 503, body  # never another answer, never a lost 202
            self.retries += 1
            await asyncio.sleep(0.2)
        raise AssertionError(f"{url} never acknowledged")

    async def play(self, until: asyncio.Event) -> None:
        """Rounds of batches, one per fair each, until told to stop."""
        seekers = itertools.count()
        while not until.is_set():
            n, self.rounds = self.rounds, self.rounds + 1
            sends = []
            for fair, token in self.fairs:
                batch = [event("checkin", seeker_id=f"S{next(seekers) % 300}") for _ in range(20)]
                if n % 5 == 4:  # a kiosk resends what it sent before: counted once
                    batch += list(self.acknowledged[fair].values())[:5]
                sends.append(self.send(fair, token, batch))
            await asyncio.gather(*sends)
            await asyncio.sleep(0.1)

    def expected(self, fair: str) -> tuple[int, int]:
        events = self.acknowledged[fair].values()
        return len(events), len({e["seeker_id"] for e in events})


async def test_a_replay_stays_exact_through_a_worker_kill_a_slot_move_and_a_failover(
    chaos_cluster: EmbeddedRedisCluster,
    database_url: str,
    tmp_path: Path,
    db: asyncpg.Connection,
) -> None:
    settings = make_settings(database_url, chaos_cluster.url, tmp_path)
    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    workers = [worker_process(settings, log) for log in logs]
    try:
        async with Gateway.running(settings) as gateway, open_redis(settings) as redis:
            assert isinstance(redis, RedisCluster)
            fairs = await _fairs_on_every_primary(gateway, redis)
            fairs += [await gateway.create_fair() for _ in range(3)]
            replay = Replay(gateway, fairs)
            resent_before = REGISTRY.get_sample_value("fairhub_redis_retries_total") or 0
            enough = asyncio.Event()
            playing = asyncio.create_task(replay.play(until=enough))

            await asyncio.sleep(2)
            os.kill(workers[0].pid, signal.SIGKILL)  # its partitions go to the other
            await asyncio.sleep(2)
            moved = key_slot(keys.stream(fairs[0][0]).encode())
            source = chaos_cluster.primary_of_slot(moved)
            target = next(p for p in chaos_cluster.primaries() if p != source)
            await asyncio.to_thread(chaos_cluster.migrate_slot, moved, target)
            assert chaos_cluster.primary_of_slot(moved) == target
            await asyncio.sleep(2)
            failed = key_slot(keys.stream(fairs[1][0]).encode())
            dead = chaos_cluster.primary_of_slot(failed)
            await asyncio.to_thread(chaos_cluster.kill_primary_of_slot, failed)
            # Its replica serves the shard now, alone: no 202 there until a replica confirms
            # (503s meanwhile). The dead node comes back (a supervisor, an operator) as the
            # new primary's replica.
            [node] = [n for n in chaos_cluster.nodes if n.port == dead]
            await asyncio.to_thread(node.start)
            await asyncio.to_thread(chaos_cluster.wait_ready, 30)
            await asyncio.sleep(2)  # and a while more of the shard with its replica again
            enough.set()
            await asyncio.wait_for(playing, timeout=300)

            for fair, token in fairs:

                async def counted(fair: str = fair, token: str = token) -> bool:
                    got = totals(await gateway.stats(fair, token))["checkins"]
                    return got == replay.expected(fair)

                await eventually(counted, timeout=90)

            async def drained() -> bool:
                for part in {keys.partition(f) for f, _ in fairs}:
                    summary = await redis.xpending(keys.partition_stream(part), keys.GROUP)
                    if summary["pending"]:
                        return False
                return True

            await eventually(drained, timeout=60)
        dead = await db.fetchval(
            "SELECT count(*) FROM dead_letters WHERE fair_id = ANY($1::text[])",
            [f for f, _ in fairs],
        )
        assert dead == 0
        assert workers[0].poll() == -signal.SIGKILL and workers[1].poll() is None
        # The failover was felt (flushes sent again once the replica had taken over, or 503s
        # the replay retried), and still no 202 was lost.
        resent = (REGISTRY.get_sample_value("fairhub_redis_retries_total") or 0) - resent_before
        assert replay.retries + resent > 0
        sent = sum(len(events) for events in replay.acknowledged.values())
        assert sent == replay.rounds * 20 * len(fairs)
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
