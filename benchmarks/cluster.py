"""Cluster benchmark: ingest, drain and worker handover on one Redis node vs a Valkey Cluster.

Why: partitions, per-node WAITAOF and worker leases exist so that FairHub grows by adding
gateway and worker processes and Redis shards. This runs the real processes and measures, in
one run, what each part costs per event and that nothing is lost on the way:

  ingest    `python -m fairhub serve` (1 process, then `--processes 2`: one port, SO_REUSEPORT),
            1,000 fairs, 20 events per request from keep-alive clients (a load generator
            process) for (a) one node, (b) 3 primaries + 3 replicas not waited for
            (FAIRHUB_WAITAOF_REPLICAS=0), (c) the same, each 202 waiting for the replica's fsync
            (=1): events/s, p50/p99 of 202s (durable), CPU of gateways, Redis nodes, loadgen;
  drain     `python -m fairhub worker` vs `--processes 2` on (a) and (c): once their leases
            have settled, a backlog spread over all fairs (entries as the gateway writes them)
            is built beside each partition's stream and swapped in with RENAME, so the append
            is not timed; timed until the group has acknowledged all, then checked in Postgres;
  handover  on (c), two workers under steady load, one SIGKILLed: until no lease names it, until
            the backlog is ~0, until /stats counts every accepted event (leases: 10 s, default);

and a scaling model from CPU seconds per 1,000 events. On 2 cores every process shares the
same cores: this proves correctness and measures overhead, not speed-up. Loopback only.

    python benchmarks/cluster.py [--seconds 15] [--clients 64] [--fairs 1000]
        [--drain-events 200000] [--only a,b,c,drain,handover]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeAlias

import aiohttp
import asyncpg
import common
import psutil
from ingest import drain_events  # the drain's event mix, payloads exactly as the gateway's

from fairhub import keys
from fairhub.embedded import free_port
from fairhub.embedded_cluster import EmbeddedRedisCluster
from fairhub.layout import ensure_group
from fairhub.redis import RedisClient, make_redis

BATCH, WARMUP = 20, 2.0
LEASE = "10"  # FAIRHUB_WORKER_LEASE_SECONDS: the default, set explicitly
RATE, BEFORE, AFTER = 100, 6.0, 30.0  # handover: requests/s; seconds of load around the kill
TAG = "00000000"  # the fair named in drain_events()' ids, rewritten for each drain
LABELS = {"a": "(a) 1 node", "b": "(b) 3+3, no replica acks", "c": "(c) 3+3, replica acks"}
Popen: TypeAlias = subprocess.Popen[bytes]
Procs: TypeAlias = common.Processes


# ---------------------------------------------------------------- child: load generator
async def generate_load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Request k: BATCH qr_scans for fair k mod n; closed loop, or `rate` requests/s. Accepted
    events are counted per fair whenever answered; speed and latency in the window only.
    (ingest.py's generate_load, which posts to one fair with one token, reshaped.)"""
    fairs, batch, rate, run = cfg["fairs"], BATCH, cfg["rate"], cfg["run"]
    tail = f'","type":"qr_scan","occurred_at":"{cfg["occurred"]}","target":"fair","visitor_id":"v'
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    accepted, issued = [0] * len(fairs), 0
    start = time.perf_counter()
    warm_end = start + cfg["warmup"]
    end = warm_end + cfg["seconds"]

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal issued
        while True:
            k, issued = issued, issued + 1
            if rate:
                await asyncio.sleep(start + k / rate - time.perf_counter())
            if time.perf_counter() >= end:
                return
            fair, token = fairs[k % len(fairs)]
            items = ",".join(f'{{"id":"{run}-{k}-{i}{tail}{k % 997}"}}' for i in range(batch))
            url, auth = f"{cfg['url']}/v1/fairs/{fair}/events", {"Authorization": f"Bearer {token}"}
            sent = time.perf_counter()
            try:
                async with session.post(url, data=f'{{"events":[{items}]}}', headers=auth) as r:
                    status, raw = r.status, await r.read()
            except aiohttp.ClientError as exc:
                status, raw = -1, type(exc).__name__.encode()
            done = time.perf_counter()
            if status == 202:
                taken = [r["status"] == "accepted" for r in json.loads(raw)["results"]]
                accepted[k % len(fairs)] += sum(taken)
                errors["event not accepted"] += len(taken) - sum(taken)
                if warm_end <= done < end:
                    latencies.append(done - sent)
            elif warm_end <= done < end:
                errors[f"HTTP {status}: {raw[:120].decode(errors='replace')}"] += 1

    connector = aiohttp.TCPConnector(limit=cfg["clients"], limit_per_host=0)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        watched = {"loadgen": [os.getpid()], **cfg["watch"]}
        cpu_task = asyncio.create_task(common.cpu_during(watched, warm_end, end))
        await asyncio.gather(*(client(session) for _ in range(cfg["clients"])))
        cpu = await cpu_task
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[max(0, math.ceil(p * len(latencies)) - 1)] if latencies else 0.0

    ok, seconds = len(latencies), cfg["seconds"]
    return {"requests_per_s": ok / seconds, "events_per_s": ok * batch / seconds,
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "errors": sum(errors.values()),
            "error_kinds": dict(+errors), "cpu_percent": cpu, "accepted": accepted}  # fmt: skip


# ---------------------------------------------------------------- parent: helpers
@dataclass
class Setup:
    key: str  # a, b, c
    redis: RedisClient  # this process's client
    env: dict[str, str]  # FAIRHUB_* of its gateways and workers
    fairs: list[tuple[str, str]]  # (fair, organizer token)
    pids: dict[str, list[int]]  # Redis servers: "redis" (primaries), "replicas"


def fairhub(procs: Procs, name: str, argv: list[str], env: dict[str, str], n: int = 1) -> Popen:
    """`python -m fairhub <argv>`, as `--processes n` when n > 1."""
    return procs.start(name, ["-m", "fairhub", *argv, *(["--processes", str(n)] * (n > 1))], env)


def stop_tree(procs: Procs, proc: Popen) -> None:
    """Stop a process and wait for its children too (those of a --processes supervisor)."""
    children: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        children = psutil.Process(proc.pid).children(recursive=True)
    procs.stop(proc)
    for child in psutil.wait_procs(children, timeout=20)[1]:
        with contextlib.suppress(psutil.Error):
            child.kill()


async def poll(check: Callable[[], Awaitable[bool]], limit: float) -> float | None:
    """Seconds until check() holds (polled every 0.1 s); None after `limit` seconds."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if await check():
            return time.perf_counter() - start
        await asyncio.sleep(0.1)
    return None


async def wait_listening(proc: Popen, port: int, count: int) -> None:
    """Until `count` processes of the tree listen on the port (SO_REUSEPORT: each its own)."""

    async def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}")
        conns = psutil.net_connections(kind="tcp")
        return len({c.pid for c in conns if c.laddr.port == port and c.status == "LISTEN"}) >= count

    if await poll(listening, 30) is None:
        raise RuntimeError(f"{count} gateway processes not listening on {port} in 30 s")


async def per_partition(redis: RedisClient, command: str, key: Callable[[int], str]) -> list[Any]:
    """One command per partition (its stream, its lease), in one pipeline."""
    async with redis.pipeline(transaction=False) as pipe:
        for part in range(keys.partitions()):
            getattr(pipe, command)(key(part))
        return list(await pipe.execute())


async def group_state(redis: RedisClient) -> tuple[int, int]:
    """Over every partition's stream: acknowledged (entries-read minus pending) and backlog
    (not delivered yet plus pending), summed."""
    acked = backlog = 0
    for groups in await per_partition(redis, "xinfo_groups", keys.partition_stream):
        group = next(g for g in groups if g["name"] in (keys.GROUP, keys.GROUP.encode()))
        acked += int(group["entries-read"] or 0) - int(group["pending"])
        backlog += int(group["lag"] or 0) + int(group["pending"])
    return acked, backlog


async def lease_holders(redis: RedisClient) -> list[str]:
    return [h.decode() if h else "" for h in await per_partition(redis, "get", keys.lease)]


async def wait_settled(redis: RedisClient, workers: int, proc: Popen) -> float:
    """Seconds until every lease is held, by `workers` workers, none beyond its share."""

    async def settled() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited with {proc.returncode}")
        held = Counter(await lease_holders(redis))
        share = math.ceil(keys.partitions() / workers)
        return "" not in held and len(held) == workers and max(held.values()) <= share

    if (seconds := await poll(settled, 40)) is None:
        raise RuntimeError(f"leases not shared by {workers} workers in 40 s")
    return seconds


async def reset_streams(redis: RedisClient) -> None:
    """Empty streams with a fresh group: what no worker counted goes (ingest's events)."""
    for part in range(keys.partitions()):
        await redis.delete(keys.partition_stream(part))
        await ensure_group(redis, keys.partition_stream(part))


def start_load(procs: Procs, tmp: Path, name: str, cfg: dict[str, Any]) -> Popen:
    """The load generator in its own process; its configuration (1,000 tokens) in a file."""
    occurred = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:00Z")
    cfg = {**cfg, "run": f"{name}-{os.urandom(3).hex()}", "occurred": occurred}
    (path := tmp / f"{name}.json").write_text(json.dumps(cfg))
    return procs.start(name, [__file__, "_load", str(path)], stdout=subprocess.PIPE)


# ---------------------------------------------------------------- scenarios
async def run_ingest(stack: common.Stack, setup: Setup, n: int, args: Any) -> dict[str, Any]:
    procs, port, name = stack.procs, free_port(), f"{setup.key}{n}"
    env = {**setup.env, "FAIRHUB_PORT": str(port)}
    gateway = fairhub(procs, f"gateway-{name}", ["serve"], env, n)
    watch = {"gateway": [gateway.pid], **setup.pids, "postgres": [stack.postgres_pid]}
    try:
        await wait_listening(gateway, port, n)
        cfg = {"url": f"http://127.0.0.1:{port}", "fairs": setup.fairs, "rate": 0, "watch": watch,
               "clients": args.clients, "warmup": WARMUP, "seconds": args.seconds}  # fmt: skip
        result = await procs.collect_json(f"load-{name}", start_load(procs, stack.tmp, name, cfg))
    finally:
        stop_tree(procs, gateway)
    await reset_streams(setup.redis)
    del result["accepted"]
    return result


async def run_drain(stack: common.Stack, setup: Setup, n: int, args: Any) -> dict[str, Any]:
    per_fair = max(1, int(args.drain_events) // len(setup.fairs))
    payloads, expected = drain_events(TAG, per_fair)
    ids, total, redis = [fair for fair, _ in setup.fairs], per_fair * len(setup.fairs), setup.redis
    tag = f"{setup.key}{n}{os.urandom(3).hex()}"  # new event ids: each drain really inserts
    where = "WHERE fair_id = ANY($1::uuid[])"
    sums = (
        f"SELECT 'events', count(*) FROM events {where} UNION ALL SELECT metric, "
        f"sum(total)::bigint FROM counters {where} AND dim = 'fair' GROUP BY metric"
    )
    conn = await asyncpg.connect(stack.postgres.url)
    env = {**setup.env, "FAIRHUB_WORKER_LEASE_SECONDS": LEASE}
    worker = fairhub(stack.procs, f"worker-{setup.key}{n}", ["worker"], env, n)
    watched = {"worker": [worker.pid], "postgres": [stack.postgres_pid], **setup.pids}
    try:
        settled = await wait_settled(redis, n, worker)
        before, started = dict(await conn.fetch(sums, ids)), time.perf_counter()
        staged = {keys.partition(fair) for fair in ids}
        entries = (
            (fair, payloads[k].replace(f"-{TAG}-", f"-{tag}-", 1))
            for k in range(per_fair)
            for fair in ids
        )  # every fair's k-th, then the next
        for done in range(0, total, 5000):
            async with redis.pipeline(transaction=False) as pipe:
                for fair, payload in (next(entries) for _ in range(min(5000, total - done))):
                    pipe.xadd(keys.stream(fair) + ":staged", {"f": fair, "e": payload})
                await pipe.execute()
        appended = time.perf_counter() - started
        cpu0, t0 = {k: common.cpu_seconds(v) for k, v in watched.items()}, time.perf_counter()
        machine0 = common.busy_seconds()
        for part in staged:  # same hash tag: the same node; blocked readers wake up at once
            stream = keys.partition_stream(part)
            await redis.xgroup_create(stream + ":staged", keys.GROUP, id="0", entries_read=0)
            await redis.rename(stream + ":staged", stream)

        async def all_acked() -> bool:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited:\n{stack.procs.tail(f'worker-{setup.key}{n}')}")
            return (await group_state(redis))[0] >= total

        drained = await poll(all_acked, max(120.0, total / 1000))
        seconds = time.perf_counter() - t0
        cpu = {k: 100 * (common.cpu_seconds(v) - cpu0[k]) / seconds for k, v in watched.items()}
        cpu["other"] = max(
            0.0, 100 * (common.busy_seconds() - machine0) / seconds - sum(cpu.values())
        )
    finally:
        stop_tree(stack.procs, worker)
    try:
        got = {
            k: v - before.get(k, 0) for k, v in await conn.fetch(sums, ids) if v != before.get(k)
        }
    finally:
        await conn.close()
    await reset_streams(redis)
    want = {"events": total, **{m: t * len(ids) for m, (t, _) in expected.items()}}
    return {"events": total, "leases_settled_s": settled, "append_s": appended,
            "seconds": seconds, "events_per_s": total / seconds, "cpu_percent": cpu,
            "exact": drained is not None and got == want}  # fmt: skip


async def qr_totals(base: str, fairs: list[tuple[str, str]]) -> list[int]:
    """Each fair's qr_scans total as /stats answers it (its organizer token, 16 at a time)."""
    gate = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as session:

        async def one(fair: str, token: str) -> int:
            auth = {"Authorization": f"Bearer {token}"}
            async with gate, session.get(f"{base}/v1/fairs/{fair}/stats", headers=auth) as r:
                return int((await r.json())["totals"]["qr_scans"]["total"])

        return list(await asyncio.gather(*(one(f, t) for f, t in fairs)))


async def run_handover(stack: common.Stack, setup: Setup) -> dict[str, Any]:
    """Two workers and a steady load; SIGKILL one: when is everything read and counted again?"""
    procs, port, redis = stack.procs, free_port(), setup.redis
    gateway = fairhub(procs, "gateway-h", ["serve"], {**setup.env, "FAIRHUB_PORT": str(port)})
    env = {**setup.env, "FAIRHUB_WORKER_LEASE_SECONDS": LEASE, "FAIRHUB_LOG_LEVEL": "INFO"}
    workers = [fairhub(procs, f"worker-h{n}", ["worker"], env) for n in (1, 2)]
    base, victim = f"http://127.0.0.1:{port}", workers[0]
    try:
        await wait_listening(gateway, port, 1)
        await wait_settled(redis, 2, workers[1])
        before = await qr_totals(base, setup.fairs)
        cfg = {"url": base, "fairs": setup.fairs, "rate": RATE, "clients": 16, "warmup": 0.0,
               "seconds": BEFORE + AFTER, "watch": {"gateway": [gateway.pid]}}  # fmt: skip
        loader, start, backlogs = start_load(procs, stack.tmp, "h", cfg), time.perf_counter(), []

        async def steady() -> bool:  # the backlog under steady load, for "back to ~0"
            backlogs.append((await group_state(redis))[1])
            return time.perf_counter() - start >= BEFORE

        await poll(steady, BEFORE + 5)
        owned = sum(f"-{victim.pid}-" in h for h in await lease_holders(redis))
        os.kill(victim.pid, signal.SIGKILL)
        before_max = max(backlogs)
        killed, threshold = time.perf_counter(), max(200, 2 * before_max)

        async def read_again() -> bool:
            return not any(h == "" or f"-{victim.pid}-" in h for h in await lease_holders(redis))

        async def caught_up() -> bool:
            backlogs.append((await group_state(redis))[1])
            return backlogs[-1] <= threshold

        leased = await poll(read_again, AFTER)
        caught = await poll(caught_up, AFTER) if leased is not None else None
        sent = await procs.collect_json("load-h", loader)
        stopped = time.perf_counter() - killed

        async def all_counted() -> bool:  # committed before acknowledged
            return (await group_state(redis))[1] == 0

        counted_s, read = await poll(all_counted, 60), time.perf_counter()
        for _ in range(3):  # what /stats answers, fair by fair (a second look if one differs)
            got = [a - b for a, b in zip(await qr_totals(base, setup.fairs), before, strict=True)]
            if (exact := sum(g == s for g, s in zip(got, sent["accepted"], strict=True))) == len(
                got
            ):
                break
        read = time.perf_counter() - read
        log = (stack.tmp / "worker-h2.log").read_text()
        claimed = sum(int(part.split()[0]) for part in log.split("took over ")[1:])
    finally:
        for proc in [*workers, gateway]:
            stop_tree(procs, proc)
    return {"killed_pid": victim.pid, "killed_owned": owned, "read_again_s": leased,
            "caught_up_s": leased + caught if leased and caught is not None else None,
            "backlog_before": before_max, "backlog_peak": max(backlogs),
            "backlog_threshold": threshold,
            "load_stopped_s": stopped, "counted_after_stop_s": counted_s, "fairs_exact": exact,
            "stats_read_s": read,
            "accepted": sum(sent["accepted"]), "load_errors": sent["errors"],
            "load_p99_ms": sent["p99_ms"], "claimed_pending": claimed}  # fmt: skip


# ---------------------------------------------------------------- orchestration
async def phase(stack: common.Stack, setups: dict[str, Setup], args: Any, out: Any) -> None:
    """Ingest on each setup given (in --only), then the drains on the last one."""
    for setup in setups.values():  # as create_fairs' gateway recorded it in Redis (64)
        keys.use_partitions(int(await setup.redis.hget(keys.LAYOUT, "partitions")))
    for key, n in [(k, n) for k in setups if k in args.only for n in (1, 2)]:
        print(f"ingest {LABELS[key]}, {n} gateway process(es) ...", flush=True)
        out["ingest"][f"{key}{n}"] = await run_ingest(stack, setups[key], n, args)
    for n in (1, 2) if "drain" in args.only else ():
        print(f"drain {LABELS[key := list(setups)[-1]]}, {n} worker process(es) ...", flush=True)
        out["drain"][f"{key}{n}"] = await run_drain(stack, setups[key], n, args)


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """One node first, then the cluster (not running while the one node is measured)."""
    results: dict[str, Any] = {"ingest": {}, "drain": {}}
    async with common.local_stack() as stack:
        env = {**stack.server_env, "FAIRHUB_WAITAOF_REPLICAS": "0"}
        setups: dict[str, Setup] = {}
        cluster = EmbeddedRedisCluster(stack.tmp / "cluster")
        try:
            if args.only & {"a", "drain"}:
                fairs = await common.create_fairs(stack.settings, args.fairs)
                pids = {"redis": [stack.redis_pid]}
                setups["a"] = Setup("a", make_redis(stack.settings), env, fairs, pids)
                await phase(stack, {"a": setups["a"]}, args, results)
            if args.only & {"b", "c", "drain", "handover"}:
                cluster.start()
                settings = stack.settings.model_copy(update={"redis_url": cluster.url})
                fairs = await common.create_fairs(settings, args.fairs)
                pid = {n.port: int(n.pid_path.read_text()) for n in cluster.nodes}
                ports, primaries = sorted(pid), cluster.primaries()
                pids = {"redis": [pid[p] for p in primaries],
                        "replicas": [pid[p] for p in ports if p not in primaries]}  # fmt: skip
                redis, env = make_redis(settings), {**env, "FAIRHUB_REDIS_URL": cluster.url}
                setups["b"] = Setup("b", redis, env, fairs, pids)
                env = {**env, "FAIRHUB_WAITAOF_REPLICAS": "1"}
                setups["c"] = Setup("c", redis, env, fairs, pids)
                await phase(stack, {"b": setups["b"], "c": setups["c"]}, args, results)
                slots = [redis.keyslot(keys.partition_stream(p)) for p in range(keys.partitions())]
                nodes = Counter(cluster.primary_of_slot(slot) for slot in slots)
                results["partitions_per_primary"] = sorted(nodes.values())
            if "handover" in args.only:
                print("handover on (c): 2 worker processes, one SIGKILLed ...", flush=True)
                results["handover"] = await run_handover(stack, setups["c"])
        finally:
            stack.procs.stop_all()
            for client in {id(s.redis): s.redis for s in setups.values()}.values():
                await client.aclose()
            cluster.stop()
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, float]:
    """Print the tables and the scaling model; return CPU seconds per 1,000 events."""
    cost: dict[str, float] = {}

    def row(label: str, name: str, r: dict[str, Any], cells: str) -> None:
        for part, value in r["cpu_percent"].items():  # % of one core -> s per 1,000 events
            if part != "other":
                cost[f"{name}_{part}"] = 10 * value / r["events_per_s"]
        cpu = " ".join(f"{k} {v:.0f}" for k, v in r["cpu_percent"].items())
        print(f"{label:<26}{name[1]:>3}{r['events_per_s']:>10,.0f}{cells}  {cpu}")

    if results["ingest"]:
        print(f"\ningest: {args.fairs:,} fairs, {BATCH} events/request, {args.clients} clients, "
              f"{args.seconds:g} s after {WARMUP:g} s warm-up; each 202 durable\n{'redis':<26}"
              f"{'gw':>3}{'events/s':>10}{'req/s':>7}{'p50 ms':>7}{'p99 ms':>7}{'errors':>7}"
              "  cpu % of one core (2 = 200; other: the rest of the machine)")  # fmt: skip
    for name, r in results["ingest"].items():
        row(LABELS[name[0]], name, r, f"{r['requests_per_s']:>7,.0f}{r['p50_ms']:>7.1f}"
            f"{r['p99_ms']:>7.1f}{r['errors']:>7}")  # fmt: skip
        for kind, count in r["error_kinds"].items():
            print(f"    {count} x {kind}")
    if "partitions_per_primary" in results:
        print(f"partitions (of {keys.partitions()}) per primary: "
              f"{results['partitions_per_primary']}")  # fmt: skip
    if results["drain"]:
        print(f"\ndrain: {args.drain_events:,} events over {args.fairs:,} fairs, swapped in "
              "once the leases had settled, until all acknowledged\n"
              f"{'redis':<26}{'wk':>3}{'events/s':>10}{'seconds':>8}{'leases':>8}{'exact':>7}"
              "  cpu % of one core")  # fmt: skip
    for name, d in results["drain"].items():
        row(LABELS[name[0]], name, d, f"{d['seconds']:>8.1f}{d['leases_settled_s']:>7.1f}s"
            f"{'ok' if d['exact'] else 'FAIL':>7}")  # fmt: skip
    if h := results.get("handover"):
        nan = float("nan")
        print(f"\nhandover on (c): 2 worker processes, FAIRHUB_WORKER_LEASE_SECONDS={LEASE} (the "
              f"default), steady {RATE * BATCH:,} events/s;\n    worker pid {h['killed_pid']} "
              f"holding {h['killed_owned']} partitions SIGKILLed after {BEFORE:g} s of load\n"
              f"    its partitions read again after {h['read_again_s'] or nan:.1f} s (no lease "
              f"names it; {h['claimed_pending']:,} pending entries claimed)\n    backlog: "
              f"{h['backlog_before']:,} before, peak {h['backlog_peak']:,}, back to <= "
              f"{h['backlog_threshold']:,} {h['caught_up_s'] or nan:.1f} s after the kill\n"
              f"    load stopped {h['load_stopped_s']:.1f} s after the kill: {h['accepted']:,} "
              f"events accepted ({h['load_errors']} errors, p99 {h['load_p99_ms']:.0f} ms);\n"
              f"    all acknowledged (so committed) {h['counted_after_stop_s'] or nan:.1f} s after "
              f"the load stopped; /stats equal to them for {h['fairs_exact']:,}/{args.fairs:,} "
              f"fairs (read in {h['stats_read_s']:.1f} s)")  # fmt: skip
    c, one = cost, cost.get("a1_redis")
    g, r, w, pg = (c.get(k) for k in ("c1_gateway", "c1_redis", "c1_worker", "c1_postgres"))
    print("\nscaling model, from the CPU seconds per 1,000 events measured above:")
    if g and r:
        alone = f"; one node (a) near {1000 / one:,.0f} events/s (~{g / one:.1f})" if one else ""
        print(f"  ingest (c): gateway {g:.3f}, 3 primaries {r:.3f} together, 3 replicas "
              f"{c['c1_replicas']:.3f} together.\n  Each gateway process added (a core of its own) "
              f"adds ~{1000 / g:,.0f} events/s. The 3 primaries, a core each\n  and ~1/3 of the "
              f"partitions each, would saturate near {3000 / r:,.0f} events/s, the work of "
              f"~{3 * g / r:.1f}\n  gateway processes{alone}.")  # fmt: skip
    if w and pg:
        print(f"  drain (c): worker {w:.3f}, Postgres {pg:.3f}. Each worker process added adds "
              f"~{1000 / w:,.0f} events/s\n  and needs ~{pg / w:.1f} more cores of Postgres; "
              f"at most {keys.partitions()} workers (one per partition).")  # fmt: skip
    print(
        "  On this 2-core machine the gateways, workers, Redis nodes, Postgres and the load\n"
        "  generator share the same two cores, so 2 processes cannot beat 1: these runs prove\n"
        "  the cluster path correct and measure its overhead per event, not speed-up.\n"
        "  Loopback hides network round trips; other jobs on the machine show as 'other'."
    )
    return cost


def main() -> None:
    if sys.argv[1:2] == ["_load"]:
        common.install_uvloop()
        print(json.dumps(asyncio.run(generate_load(json.loads(Path(sys.argv[2]).read_text())))))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured ingest window")
    parser.add_argument("--clients", type=int, default=64, help="concurrent HTTP clients")
    parser.add_argument("--fairs", type=int, default=1000, help="fairs per Redis setup")
    parser.add_argument("--drain-events", type=int, default=200_000, help="events per drain")
    parser.add_argument("--only", default="a,b,c,drain,handover", help="comma-separated subset")
    args = parser.parse_args()
    args.only = set(args.only.replace(" ", "").split(","))
    if unknown := args.only - {"a", "b", "c", "drain", "handover"}:
        parser.error(f"--only takes a,b,c,drain,handover, not {sorted(unknown)}")
    started, inherited = datetime.now(UTC), common.inherited_environment()
    try:
        results = asyncio.run(benchmark(args))
    except KeyboardInterrupt:
        sys.exit("interrupted; every process the benchmark started was stopped")
    cost = report(results, args)
    document = {"args": {**vars(args), "only": sorted(args.only)}, "environment": inherited,
                "results": results, "cpu_seconds_per_1000_events": cost}  # fmt: skip
    common.write_results("cluster", started, document)


if __name__ == "__main__":
    main()
