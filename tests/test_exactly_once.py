"""Exactly-once effect: resends, redelivery, crashed workers and poison never miscount."""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import signal
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterPubSub
from support import Gateway, WorkerTask, event, eventually, fair_entries, totals, worker_process

from fairhub import keys
from fairhub.config import Settings
from fairhub.embedded import free_port


async def _counted(
    gateway: Gateway, fair: str, token: str, metric: str, want: tuple[int, int]
) -> None:
    async def check() -> bool:
        return totals(await gateway.stats(fair, token))[metric] == want

    await eventually(check)


async def _pending(redis: Redis, fair: str) -> int:
    """Entries pending in the fair's partition (the worker drains the other fairs' too)."""
    summary = await redis.xpending(keys.stream(fair), keys.GROUP)
    return int(summary["pending"])


async def test_duplicates_in_a_batch_across_batches_and_resent_count_once(
    gateway: Gateway, worker: WorkerTask, redis: Redis
) -> None:
    fair, token = await gateway.create_fair()
    first = [event("checkin", seeker_id=f"S{i}") for i in range(5)]
    results = await gateway.post(fair, token, [*first, first[0], first[1]])
    assert [r["status"] for r in results] == ["accepted"] * 5 + ["duplicate"] * 2

    second = [first[2], event("checkin", seeker_id="S0"), first[3]]
    results = await gateway.post(fair, token, second)
    assert [r["status"] for r in results] == ["duplicate", "accepted", "duplicate"]

    resent = await gateway.post(fair, token, first)  # the kiosk never saw our 202
    assert {r["status"] for r in resent} == {"duplicate"}

    # A second copy that slipped past the gateway (its memory of ids expired, or two
    # gateways raced) reaches the worker: the database key still counts it once.
    await redis.xadd(keys.stream(fair), {"f": fair, "e": json.dumps(first[4])})
    await _counted(gateway, fair, token, "checkins", (6, 5))
    await eventually(lambda: _no_pending(redis, fair))
    assert totals(await gateway.stats(fair, token))["checkins"] == (6, 5)


async def _no_pending(redis: Redis, fair: str) -> bool:
    return await _pending(redis, fair) == 0


async def test_worker_killed_after_commit_before_ack_changes_nothing_on_redelivery(
    gateway: Gateway, settings: Settings, redis: Redis, db: asyncpg.Connection, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    events = [
        event("booth_visit", i % 3, employer_id=f"E{i % 4}", seeker_id=f"S{i % 7}")
        for i in range(60)
    ]
    await gateway.post(fair, token, events)

    log = tmp_path / "worker.log"
    process = worker_process(settings, log, FAIRHUB_WORKER_ACK_DELAY_SECONDS="60")
    try:
        await eventually(lambda: _logged(log, "committed batch"))
        stored = await db.fetchval("SELECT count(*) FROM events WHERE fair_id = $1", fair)
        assert stored == 60
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        process.kill()
    assert await _pending(redis, fair) == 1  # the request's one entry: committed, never acked
    before = await gateway.stats(fair, token)
    assert totals(before)["booth_visits"] == (60, 7)

    dead = await _consumer_names(redis, fair)
    async with WorkerTask.running(settings) as worker:  # takes over the dead consumer's entries
        await eventually(lambda: _no_pending(redis, fair))

        async def forgotten() -> bool:  # and removes the dead consumer once it holds nothing
            return await _consumer_names(redis, fair) <= {worker.aggregator.name}

        await eventually(forgotten)
    assert dead and worker.aggregator.name not in dead
    after = await gateway.stats(fair, token)
    assert after["totals"] == before["totals"]
    assert after["by_employer"] == before["by_employer"]
    assert after["per_minute"] == before["per_minute"]


async def _consumer_names(redis: Redis, fair: str) -> set[str]:
    consumers: Any = await redis.xinfo_consumers(keys.stream(fair), keys.GROUP)
    return {c["name"].decode() for c in consumers}


async def _logged(log: Path, text: str) -> bool:
    return log.exists() and text in log.read_text(errors="replace")


async def test_workers_killed_mid_batch_lose_nothing(
    gateway: Gateway, settings: Settings, redis: Redis, db: asyncpg.Connection, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    events = [
        event(
            "resume_submitted",
            i % 50,
            seeker_id=f"S{i % 900}",
            employer_id=f"E{i % 80}",
            channel="online",
        )
        for i in range(12_000)
    ]
    for start in range(0, len(events), 500):
        await gateway.post(fair, token, events[start : start + 500])

    killed_with_entries_in_hand = 0
    for round_ in range(4):
        stored_before = await _stored(db, fair)
        process = worker_process(
            settings, tmp_path / f"worker{round_}.log", FAIRHUB_WORKER_BATCH_SIZE="200"
        )
        try:
            # Kill as soon as it is visibly working: between reading and acking a batch.
            await eventually(functools.partial(_stored_more_than, db, fair, stored_before))
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        if await _pending(redis, fair) > 0:
            killed_with_entries_in_hand += 1
    assert killed_with_entries_in_hand > 0, "no kill landed mid-batch; the test proved nothing"

    async with WorkerTask.running(settings):
        await _counted(gateway, fair, token, "resumes_submitted", (12_000, 900))
        await eventually(lambda: _no_pending(redis, fair))
    stats = await gateway.stats(fair, token)
    assert len(stats["by_employer"]) == 80
    assert all(row["totals"]["resumes_submitted"]["total"] == 150 for row in stats["by_employer"])


async def _stored(db: asyncpg.Connection, fair: str) -> int:
    return int(await db.fetchval("SELECT count(*) FROM events WHERE fair_id = $1", fair))


async def _stored_more_than(db: asyncpg.Connection, fair: str, count: int) -> bool:
    return await _stored(db, fair) > count


async def test_poison_entries_are_dead_lettered_and_the_rest_counted(
    gateway: Gateway, worker: WorkerTask, redis: Redis, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    await gateway.post(
        fair,
        token,
        [event("intent_agreed", seeker_id=f"S{i}", employer_id="E1") for i in range(10)],
    )
    stream = keys.stream(fair)
    not_json = await redis.xadd(stream, {"f": fair, "e": "{not json"})
    # Valid JSON that Postgres refuses (jsonb has no NUL): fails inside the batch transaction.
    refused = event("consultation", seeker_id="S1", topic="bad\u0000byte")
    refused_by_db = await redis.xadd(stream, {"f": fair, "e": json.dumps(refused)})
    await gateway.post(
        fair,
        token,
        [event("intent_agreed", seeker_id=f"S{i}", employer_id="E2") for i in range(10, 15)],
    )

    await _counted(gateway, fair, token, "intents", (15, 15))

    async def dead_lettered() -> bool:
        count = await db.fetchval("SELECT count(*) FROM dead_letters WHERE fair_id = $1", fair)
        return bool(count == 2)

    await eventually(dead_lettered)
    rows = await db.fetch(
        "SELECT entry_id, error, attempts FROM dead_letters WHERE fair_id = $1 ORDER BY entry_id",
        fair,
    )
    assert [r["entry_id"] for r in rows] == [str(not_json, "ascii"), str(refused_by_db, "ascii")]  # type: ignore[arg-type]
    assert "undecodable" in rows[0]["error"]
    assert all(r["attempts"] == 5 for r in rows)
    await eventually(lambda: _no_pending(redis, fair))
    assert totals(await gateway.stats(fair, token))["consultations"] == (0, 0)


async def test_a_batch_is_one_stream_entry_and_its_poison_event_is_dead_lettered_alone(
    gateway: Gateway, worker: WorkerTask, redis: Redis, db: asyncpg.Connection
) -> None:
    """A request's events go into one stream entry ({b}); the worker counts each event, keeps
    the entry pending while one of its events fails, dead-letters that event alone (its place
    in the entry named) and then acknowledges the entry."""
    fair, token = await gateway.create_fair()
    stream = keys.stream(fair)
    before = await redis.xlen(stream)
    sent = [event("intent_agreed", seeker_id=f"S{i}", employer_id="E1") for i in range(40)]
    results = await gateway.post(fair, token, sent)
    assert {r["status"] for r in results} == {"accepted"}
    assert await redis.xlen(stream) == before + 1  # one entry for the whole request
    assert [e["id"] for e in await fair_entries(redis, fair)] == [e["id"] for e in sent]
    await _counted(gateway, fair, token, "intents", (40, 40))

    # An entry as a gateway writes it, with a poison event in third place: Postgres refuses
    # it (jsonb has no NUL) inside the batch transaction; the other four still count.
    good = [event("intent_agreed", seeker_id=f"T{i}", employer_id="E2") for i in range(4)]
    refused = event("consultation", seeker_id="S1", topic="bad\u0000byte")
    texts = [json.dumps(e) for e in [*good[:2], refused, *good[2:]]]
    grouped = await redis.xadd(stream, {"f": fair, "b": "\n".join(texts)})
    await _counted(gateway, fair, token, "intents", (44, 44))

    async def dead_lettered() -> bool:
        count = await db.fetchval("SELECT count(*) FROM dead_letters WHERE fair_id = $1", fair)
        return bool(count == 1)

    await eventually(dead_lettered)
    row = await db.fetchrow("SELECT entry_id, attempts FROM dead_letters WHERE fair_id = $1", fair)
    assert row is not None and row["entry_id"] == f"{grouped.decode()}/2"
    assert row["attempts"] == 5
    await eventually(lambda: _no_pending(redis, fair))  # the entry was acknowledged at last
    # Redelivered four times, the good events of the entry still counted once each.
    await asyncio.sleep(0.5)
    assert totals(await gateway.stats(fair, token))["intents"] == (44, 44)
    refs = await db.fetch(
        "SELECT stream_id FROM events WHERE fair_id = $1 AND stream_id LIKE $2 ORDER BY 1",
        fair,
        f"{grouped.decode()}/%",
    )
    assert [r["stream_id"] for r in refs] == [f"{grouped.decode()}/{n}" for n in (0, 1, 3, 4)]


def _expected(
    events: list[dict[str, Any]],
) -> tuple[dict[str, tuple[int, int]], dict[str, dict[str, tuple[int, int]]]]:
    """An independent oracle: totals and uniques per metric, overall and per employer."""
    metric_of = {
        "checkin": "checkins",
        "booth_visit": "booth_visits",
        "resume_submitted": "resumes_submitted",
        "intent_agreed": "intents",
    }
    seen: set[str] = set()
    total: Counter[str] = Counter()
    who: dict[str, set[str]] = defaultdict(set)
    by_employer: dict[str, Counter[str]] = defaultdict(Counter)
    who_by_employer: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for e in events:
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        metric = metric_of[e["type"]]
        total[metric] += 1
        who[metric].add(e["seeker_id"])
        if "employer_id" in e:
            by_employer[e["employer_id"]][metric] += 1
            who_by_employer[e["employer_id"]][metric].add(e["seeker_id"])
    overall = {m: (total[m], len(who[m])) for m in total}
    per_employer = {
        emp: {m: (c, len(who_by_employer[emp][m])) for m, c in counts.items()}
        for emp, counts in by_employer.items()
    }
    return overall, per_employer


async def _lease_holders(redis: Redis) -> set[str]:
    """The pids of the workers that hold partitions now (names are host-pid-random)."""
    async with redis.pipeline(transaction=False) as pipe:
        for part in range(keys.partitions()):
            pipe.get(keys.lease(part))
        holders = await pipe.execute()
    return {h.decode().split("-")[-2] for h in holders if h}


async def test_two_worker_processes_over_20000_events_give_exact_totals(
    gateway: Gateway, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    # Four fairs, in four partitions: the two workers read some each, at the same time.
    fairs: list[tuple[str, str]] = []
    while len({keys.partition(f) for f, _ in fairs}) < 4:
        fairs.append(await gateway.create_fair())
    fairs = list({keys.partition(f): (f, t) for f, t in fairs}.values())
    rng = random.Random(2026)
    events: dict[str, list[dict[str, Any]]] = {fair: [] for fair, _ in fairs}
    for i in range(20_000):
        seeker = f"S{rng.randrange(3_000)}"
        employer = f"E{rng.randrange(80)}"
        kind = rng.choice(["checkin", "booth_visit", "resume_submitted", "intent_agreed"])
        fields: dict[str, Any] = {"seeker_id": seeker}
        if kind != "checkin":
            fields["employer_id"] = employer
        if kind == "resume_submitted":
            fields["channel"] = "onsite"
        events[fairs[i % 4][0]].append(event(kind, i % 480, **fields))
    posts: list[tuple[str, str, list[dict[str, Any]]]] = []
    expected = {}
    for fair, token in fairs:
        mine = events[fair]
        resends = rng.sample(mine, 500)  # kiosks that never saw the 202
        posts += [(fair, token, mine[i : i + 500]) for i in range(0, len(mine), 500)]
        posts.append((fair, token, resends))
        expected[fair] = _expected(mine + resends)
    rng.shuffle(posts)

    workers = [worker_process(settings, tmp_path / f"w{n}.log") for n in range(2)]
    try:
        pids = {str(p.pid) for p in workers}

        async def shared() -> bool:
            return await _lease_holders(redis) == pids

        await eventually(shared, timeout=60)  # the partitions are shared out between the two
        for i in range(0, len(posts), 4):
            await asyncio.gather(*(gateway.post(f, t, b) for f, t, b in posts[i : i + 4]))

        async def done() -> bool:
            for fair, token in fairs:
                got = totals(await gateway.stats(fair, token))
                if any(got[m] != want for m, want in expected[fair][0].items()):
                    return False
            return True

        await eventually(done, timeout=120)
        for fair, _ in fairs:
            await eventually(lambda f=fair: _no_pending(redis, f))  # the XACK follows the commit
    finally:
        for process in workers:
            process.terminate()
            process.wait(timeout=30)
    for fair, token in fairs:
        stats = await gateway.stats(fair, token)
        got_by_employer = {
            row["employer_id"]: {
                m: (c["total"], c["unique"]) for m, c in row["totals"].items() if c["total"]
            }
            for row in stats["by_employer"]
        }
        want_totals, want_by_employer = expected[fair]
        assert got_by_employer == want_by_employer
        assert (
            sum(m["totals"]["checkins"]["total"] for m in stats["per_minute"])
            == want_totals["checkins"][0]
        )


async def test_acknowledged_entries_are_trimmed_from_the_stream(
    gateway: Gateway, worker: WorkerTask, redis: Redis
) -> None:
    fair, token = await gateway.create_fair()
    first = [event("checkin", seeker_id=f"S{i}") for i in range(40)]
    await gateway.post(fair, token, first)
    await _counted(gateway, fair, token, "checkins", (40, 40))

    async def trimmed() -> bool:
        return await fair_entries(redis, fair) == []

    await eventually(trimmed)
    # Ids are still remembered, so a resend is still a duplicate after the trim.
    resent = await gateway.post(fair, token, [*first[:5], event("checkin", seeker_id="S1")])
    assert [r["status"] for r in resent] == ["duplicate"] * 5 + ["accepted"]
    await _counted(gateway, fair, token, "checkins", (41, 40))


async def test_sigterm_finishes_the_batch_in_hand_then_exits(
    gateway: Gateway, settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    fair, token = await gateway.create_fair()
    await gateway.post(fair, token, [event("checkin", seeker_id=f"S{i}") for i in range(30)])
    log = tmp_path / "worker.log"
    # The pause between commit and ack makes "in hand" observable: SIGTERM lands inside it.
    process = worker_process(settings, log, FAIRHUB_WORKER_ACK_DELAY_SECONDS="2")
    try:
        await eventually(lambda: _logged(log, "committed batch"))
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 30) == 0
    finally:
        process.kill()
    assert await _pending(redis, fair) == 0  # acknowledged before exiting
    assert "worker stopped" in log.read_text()
    assert totals(await gateway.stats(fair, token))["checkins"] == (30, 30)


async def test_a_worker_process_serves_its_metrics(
    settings: Settings, redis: Redis, tmp_path: Path
) -> None:
    port = free_port()
    process = worker_process(
        settings, tmp_path / "worker.log", FAIRHUB_WORKER_METRICS_PORT=str(port)
    )
    try:

        async def owns_all() -> bool:
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"http://127.0.0.1:{port}/metrics") as answer,
                ):
                    text = await answer.text()
            except aiohttp.ClientError:
                return False
            owned = re.search(r"^fairhub_worker_partitions_owned ([0-9.]+)$", text, re.M)
            return owned is not None and float(owned[1]) == settings.partitions

        await eventually(owns_all)  # alone: every partition is its
    finally:
        process.terminate()
        assert await asyncio.to_thread(process.wait, 30) == 0
    holders = await _lease_holders(redis)
    assert str(process.pid) not in holders  # it handed its leases back on the way out


async def test_new_totals_are_published_after_each_commit(
    gateway: Gateway, worker: WorkerTask, redis: Redis
) -> None:
    fair, token = await gateway.create_fair()
    async with redis.pubsub() as pubsub:
        await pubsub.ssubscribe(keys.totals_channel(fair))  # sharded: the fair's shard only
        await gateway.post(
            fair, token, [event("checkin", seeker_id="S1"), event("checkin", seeker_id="S1")]
        )
        message = None
        while message is None or message["type"] not in ("smessage", b"smessage"):
            if isinstance(pubsub, ClusterPubSub):  # a cluster: the fair's shard's messages
                message = await pubsub.get_sharded_message(timeout=10)
            else:
                message = await pubsub.get_message(timeout=10)
            assert message is not None, "no totals published"
    published = json.loads(message["data"])
    assert published["fair"] == fair
    assert published["totals"]["checkins"] == {"total": 2, "unique": 1}


async def test_a_fair_that_redis_forgot_is_still_read(
    gateway: Gateway, settings: Settings, redis: Redis
) -> None:
    # A replaced Redis: the fair's stream, group and registration are gone, yet gateways keep
    # accepting its events. Workers learn the fair from Postgres and read its new stream.
    fair, token = await gateway.create_fair()
    await redis.delete(keys.stream(fair))
    await redis.srem(keys.fairs(fair), fair)
    await gateway.post(
        fair, token, [event("booth_visit", employer_id="E1", seeker_id=f"S{i}") for i in range(7)]
    )
    async with WorkerTask.running(settings):
        await _counted(gateway, fair, token, "booth_visits", (7, 7))
    assert await redis.sismember(keys.fairs(fair), fair)


async def _readiness(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    status, body = await gateway.request("GET", "/readyz", None)
    return status, body


async def test_readyz_is_degraded_without_a_worker_and_ready_with_one(settings: Settings) -> None:
    # The workers' heartbeats and backlogs are read from Redis, a cluster too.
    watched = settings.model_copy(update={"ready_worker_silence_seconds": 1.0})
    async with Gateway.running(watched) as gateway:
        async with WorkerTask.running(settings):

            async def ready() -> bool:
                status, body = await _readiness(gateway)
                return status == 200 and body["status"] == "ready"

            await eventually(ready)
            _, body = await _readiness(gateway)
            assert body["workers"]["alive"] == 1, body

        async def degraded() -> bool:
            status, body = await _readiness(gateway)
            return status == 503 and body["status"] == "degraded"

        await eventually(degraded)
        _, body = await _readiness(gateway)
        assert body["checks"] == {"redis": "ok", "postgres": "ok"}, body
        assert body["workers"]["alive"] == 0, body
        assert any(r.startswith("no worker alive for") for r in body["reasons"]), body
        async with WorkerTask.running(settings):
            await eventually(ready)


async def test_readyz_is_degraded_while_events_wait_too_long(settings: Settings) -> None:
    # A worker that holds its batches (a slow commit) lets events wait past the threshold.
    watched = settings.model_copy(update={"ready_max_lag_seconds": 1.0})
    slow = settings.model_copy(update={"worker_ack_delay_seconds": 4.0})
    async with Gateway.running(watched) as gateway:
        fair, token = await gateway.create_fair()
        async with WorkerTask.running(settings):  # everything earlier is counted first

            async def ready() -> bool:
                status, body = await _readiness(gateway)
                return status == 200 and body["status"] == "ready"

            await eventually(ready)
        async with WorkerTask.running(slow):
            await gateway.post(fair, token, [event("checkin", seeker_id="S1")])

            async def lagging() -> bool:
                status, body = await _readiness(gateway)
                return status == 503 and any(
                    r.startswith("oldest uncounted event waited") for r in body.get("reasons", [])
                )

            await eventually(lagging)
            await eventually(ready)  # acknowledged and measured again
        await _counted(gateway, fair, token, "checkins", (1, 1))
