"""Cluster benchmark: ingest, drain and worker handover on one Redis node vs a Valkey Cluster.

Why: partitions, per-node WAITAOF and worker leases exist so that FairHub grows by adding
gateway and worker processes and Redis shards. This runs the real processes and measures, in
one run, what each part costs per event and that nothing is lost on the way:

  ingest    `python -m fairhub serve` (1 process, then `--processes 2`: one port, SO_REUSEPORT),
            1,000 fairs, 20 events per request from keep-alive clients (a load generator
            process) for (a) one node, (b) 3 primaries + 3 replicas not waited for
            (FAIRHUB_WAITAOF_REPLICAS=0), (c) the same, each 202 waiting for the replica's fsync
            (=1): events/s, p50/p99 of 202s (durable), CPU of gateways, Redis nodes, loadgen;
  drain     `python -m fairhub worker` vs `--processes 2` on (a) and (c): once the leases have
            settled, events over all fairs are appended as the gateway writes them; timed until
            the group has acknowledged all of them, then checked in Postgres;
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
from typing import Any

import aiohttp
import asyncpg
import psutil
from common import (
    Processes,
    Stack,
    cpu_during,
    cpu_seconds,
    create_fairs,
    inherited_environment,
    install_uvloop,
    local_stack,
    write_results,
)
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


# ---------------------------------------------------------------- child: load generator
async def generate_load(cfg: dict[str, Any]) -> dict[str, Any]:
    """Request k: BATCH qr_scans for fair k mod n; closed loop, or `rate` requests/s. Accepted
    events are counted per fair whenever answered; speed and latency in the window only.
    (The approach of ingest.py's generate_load, which posts to one fair with one token.)"""
    fairs, batch, rate, run = cfg["fairs"], cfg["batch"], cfg["rate"], cfg["run"]
    tail = (
        f'","type":"qr_scan","occurred_at":"{cfg["occurred_at"]}","target":"fair","visitor_id":"v'
    )
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
            sent = time.perf_counter()
            try:
                async with session.post(
                    f"{cfg['url']}/v1/fairs/{fair}/events",
                    data=f'{{"events":[{items}]}}',
                    headers={"Authorization": f"Bearer {token}"},
                ) as resp:
                    status, raw = resp.status, await resp.read()
            except aiohttp.ClientError as exc:
                status, raw = -1, type(exc).__name__.encode()
            done = time.perf_counter()
            if status == 202:
                taken = [r["status"] == "accepted" for r in json.loads(raw)["results"]]
                accepted[k % len(fairs)] += sum(taken)
                errors["event not accepted"] += len(taken) - sum(taken)
            elif warm_end <= done < end:
                errors[f"HTTP {status}: {raw[:120].decode(errors='replace')}"] += 1
            if warm_end <= done < end and status == 202:
                latencies.append(done - sent)

    connector = aiohttp.TCPConnector(limit=cfg["clients"], limit_per_host=0)
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        watched = {"loadgen": [os.getpid()], **cfg["watch"]}
        cpu_task = asyncio.create_task(cpu_during(watched, warm_end, end))
        await asyncio.gather(*(client(session) for _ in range(cfg["clients"])))
        cpu = await cpu_task
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[max(0, math.ceil(p * len(latencies)) - 1)] if latencies else 0.0

    ok = len(latencies)
    return {"requests_per_s": ok / cfg["seconds"], "events_per_s": ok * batch / cfg["seconds"],
            "p50_ms": pct(0.5), "p99_ms": pct(0.99), "requests": ok,
            "errors": sum(errors.values()), "error_kinds": dict(+errors),
            "cpu_percent": cpu, "accepted": accepted}  # fmt: skip


# ---------------------------------------------------------------- parent: helpers
@dataclass
class Setup:
    key: str  # a, b, c
    redis: RedisClient  # this process's client
    env: dict[str, str]  # FAIRHUB_* of its gateways and workers
    fairs: list[tuple[str, str]]  # (fair, organizer token)
    pids: dict[str, list[int]]  # Redis servers: "redis" (primaries), "replicas"


def fairhub(
    procs: Processes,
    name: str,
    args: list[str],
    env: dict[str, str],
    n: int = 1,
) -> subprocess.Popen[bytes]:
    return procs.start(name, ["-m", "fairhub", *args, *(["--processes", str(n)] * (n > 1))], env)


def stop_tree(procs: Processes, proc: subprocess.Popen[bytes]) -> None:
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


async def wait_listening(proc: subprocess.Popen[bytes], port: int, count: int) -> None:
    """Until `count` processes of the tree listen on the port (SO_REUSEPORT: each its own)."""

    async def listening() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}")
        found = 0
        with contextlib.suppress(psutil.Error):
            for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(True)]:
                with contextlib.suppress(psutil.Error):
                    conns = p.net_connections(kind="tcp")
                    found += any(c.laddr.port == port and c.status == "LISTEN" for c in conns)
        return found >= count

    if await poll(listening, 30) is None:
        raise RuntimeError(f"{count} gateway processes not listening on {port} in 30 s")


async def group_state(redis: RedisClient) -> tuple[int, int]:
    """Summed over every partition's stream: acknowledged (entries-read minus pending) and
    backlog (not delivered yet, plus pending)."""
    async with redis.pipeline(transaction=False) as pipe:
        for part in range(keys.partitions()):
            pipe.xinfo_groups(keys.partition_stream(part))
        replies = await pipe.execute()
    acked = backlog = 0
    for groups in replies:
        group = next(g for g in groups if g["name"] in (keys.GROUP, keys.GROUP.encode()))
        acked += int(group["entries-read"] or 0) - int(group["pending"])
        backlog += int(group["lag"] or 0) + int(group["pending"])
    return acked, backlog


async def lease_holders(redis: RedisClient) -> list[str]:
    async with redis.pipeline(transaction=False) as pipe:
        for part in range(keys.partitions()):
            pipe.get(keys.lease(part))
        return [h.decode() if h else "" for h in await pipe.execute()]


async def wait_settled(redis: RedisClient, workers: int, proc: subprocess.Popen[bytes]) -> float:
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


def per_1000(cpu_percent: float, events_per_s: float) -> float:
    """CPU seconds per 1,000 events, from % of one core at a rate."""
    return 10 * cpu_percent / events_per_s if events_per_s else 0.0


# ---------------------------------------------------------------- scenarios
def start_load(
    procs: Processes,
    tmp: Path,
    name: str,
    port: int,
    fairs: list[tuple[str, str]],
    clients: int,
    rate: float,
    warmup: float,
    seconds: float,
    watch: dict[str, list[int]],
) -> subprocess.Popen[bytes]:
    """The load generator in its own process; its configuration (1,000 tokens) in a file."""
    occurred = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:00Z")
    cfg = {"url": f"http://127.0.0.1:{port}", "fairs": fairs, "batch": BATCH, "rate": rate,
           "clients": clients, "warmup": warmup, "seconds": seconds, "watch": watch,
           "run": f"{name}-{os.urandom(3).hex()}", "occurred_at": occurred}  # fmt: skip
    (path := tmp / f"{name}.json").write_text(json.dumps(cfg))
    return procs.start(name, [__file__, "_load", str(path)], stdout=subprocess.PIPE)


async def run_ingest(
    procs: Processes, stack: Stack, setup: Setup, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    port = free_port()
    gateway = fairhub(
        procs, f"gateway-{setup.key}{n}", ["serve"], {**setup.env, "FAIRHUB_PORT": str(port)}, n
    )
    watch = {"gateway": [gateway.pid], **setup.pids, "postgres": [stack.postgres_pid]}
    try:
        await wait_listening(gateway, port, n)
        name = f"load-{setup.key}{n}"
        loader = start_load(
            procs, stack.tmp, name, port, setup.fairs, args.clients, 0, WARMUP, args.seconds, watch
        )
        result = await procs.collect_json(name, loader)
    finally:
        stop_tree(procs, gateway)
    for part in range(keys.partitions()):  # no worker counts ingest's events: drop them
        await setup.redis.delete(keys.partition_stream(part))
        await ensure_group(setup.redis, keys.partition_stream(part))
    del result["accepted"]
    return result


async def run_drain(
    procs: Processes, stack: Stack, setup: Setup, workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    per_fair = max(1, args.drain_events // len(setup.fairs))
    payloads, expected = drain_events(TAG, per_fair)
    ids, total = [fair for fair, _ in setup.fairs], per_fair * len(setup.fairs)
    tag = f"{setup.key}{workers}{os.urandom(3).hex()}"  # new ids: each drain really inserts
    where = "WHERE fair_id = ANY($1::uuid[])"
    sums = (
        f"SELECT 'events', count(*) FROM events {where} UNION ALL SELECT metric, "
        f"sum(total)::bigint FROM counters {where} AND dim = 'fair' GROUP BY metric"
    )
    conn = await asyncpg.connect(stack.postgres.url)
    worker = fairhub(
        procs,
        f"worker-{setup.key}{workers}",
        ["worker"],
        {**setup.env, "FAIRHUB_WORKER_LEASE_SECONDS": LEASE},
        workers,
    )
    watched = {"worker": [worker.pid], "postgres": [stack.postgres_pid], **setup.pids}
    try:
        settled = await wait_settled(setup.redis, workers, worker)
        acked0, before = (await group_state(setup.redis))[0], dict(await conn.fetch(sums, ids))
        cpu0, t0 = {k: cpu_seconds(v) for k, v in watched.items()}, time.perf_counter()
        entries = (
            (fair, payloads[n].replace(f"-{TAG}-", f"-{tag}-", 1))
            for n in range(per_fair)
            for fair in ids
        )  # every fair's n-th, then the next
        for done in range(0, total, 5000):
            async with setup.redis.pipeline(transaction=False) as pipe:
                for fair, payload in (next(entries) for _ in range(min(5000, total - done))):
                    pipe.xadd(keys.stream(fair), {"f": fair, "e": payload})
                await pipe.execute()
        t1, acked1 = time.perf_counter(), (await group_state(setup.redis))[0] - acked0

        async def all_acked() -> bool:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited:\n{procs.tail(f'worker-{setup.key}{workers}')}")
            return (await group_state(setup.redis))[0] - acked0 >= total

        drained = await poll(all_acked, max(120.0, total / 1000))
        t2 = time.perf_counter()
        cpu = {k: 100 * (cpu_seconds(v) - cpu0[k]) / (t2 - t0) for k, v in watched.items()}
    finally:
        stop_tree(procs, worker)
    try:
        got = {
            k: v - before.get(k, 0) for k, v in await conn.fetch(sums, ids) if v != before.get(k)
        }
    finally:
        await conn.close()
    want = {"events": total, **{m: t * len(ids) for m, (t, _) in expected.items()}}
    return {"events": total, "drained": drained is not None, "leases_settled_s": settled,
            "append_s": t1 - t0, "seconds": t2 - t0, "events_per_s": total / (t2 - t0),
            "after_append_events_per_s": (total - acked1) / (t2 - t1) if t2 > t1 else None,
            "acked_while_appending": acked1, "exact": got == want, "cpu_percent": cpu}  # fmt: skip


async def qr_totals(base: str, fairs: list[tuple[str, str]]) -> list[int]:
    """Each fair's qr_scans total as /stats answers it (its organizer token, 16 at a time)."""
    gate = asyncio.Semaphore(16)
    async with aiohttp.ClientSession() as session:

        async def one(fair: str, token: str) -> int:
            auth = {"Authorization": f"Bearer {token}"}
            async with gate, session.get(f"{base}/v1/fairs/{fair}/stats", headers=auth) as r:
                return int((await r.json())["totals"]["qr_scans"]["total"])

        return list(await asyncio.gather(*(one(f, t) for f, t in fairs)))


async def run_handover(procs: Processes, stack: Stack, setup: Setup) -> dict[str, Any]:
    """Two workers and a steady load; SIGKILL one: when is everything read and counted again?"""
    port, redis = free_port(), setup.redis
    gateway = fairhub(procs, "gateway-h", ["serve"], {**setup.env, "FAIRHUB_PORT": str(port)})
    env = {**setup.env, "FAIRHUB_WORKER_LEASE_SECONDS": LEASE, "FAIRHUB_LOG_LEVEL": "INFO"}
    workers = [fairhub(procs, f"worker-h{n}", ["worker"], env) for n in (1, 2)]
    base, victim = f"http://127.0.0.1:{port}", workers[0]
    try:
        await wait_listening(gateway, port, 1)
        await wait_settled(redis, 2, workers[1])
        before = await qr_totals(base, setup.fairs)
        loader = start_load(
            procs,
            stack.tmp,
            "load-h",
            port,
            setup.fairs,
            16,
            RATE,
            0.0,
            BEFORE + AFTER,
            {"gateway": [gateway.pid]},
        )
        start, backlogs = time.perf_counter(), []

        async def load_settled() -> bool:  # the backlog of steady load, for "back to ~0"
            backlogs.append((await group_state(redis))[1])
            return time.perf_counter() - start >= BEFORE

        await poll(load_settled, BEFORE + 5)
        owned = sum(f"-{victim.pid}-" in h for h in await lease_holders(redis))
        os.kill(victim.pid, signal.SIGKILL)
        killed, threshold = time.perf_counter(), max(200, 2 * max(backlogs))

        async def read_again() -> bool:
            return not any(h == "" or f"-{victim.pid}-" in h for h in await lease_holders(redis))

        async def caught_up() -> bool:
            backlogs.append((await group_state(redis))[1])
            return backlogs[-1] <= threshold

        leased = await poll(read_again, AFTER)
        caught = await poll(caught_up, AFTER) if leased is not None else None
        sent = await procs.collect_json("load-h", loader)
        stopped = time.perf_counter() - killed

        fairs_exact = 0

        async def counted() -> bool:
            nonlocal fairs_exact
            if (await group_state(redis))[1]:
                return False
            after = await qr_totals(base, setup.fairs)
            got = [a - b for a, b in zip(after, before, strict=True)]
            fairs_exact = sum(g == s for g, s in zip(got, sent["accepted"], strict=True))
            return fairs_exact == len(got)

        exact = await poll(counted, 60)
        log = (stack.tmp / "worker-h2.log").read_text()
        claimed = sum(int(part.split()[0]) for part in log.split("took over ")[1:])
    finally:
        for proc in [*workers, gateway]:
            stop_tree(procs, proc)
    return {"killed_pid": victim.pid, "killed_owned": owned, "read_again_s": leased,
            "caught_up_s": leased + caught if leased and caught is not None else None,
            "backlog_threshold": threshold, "backlog_peak": max(backlogs),
            "load_stopped_s": stopped, "counted_after_stop_s": exact, "fairs_exact": fairs_exact,
            "accepted": sum(sent["accepted"]), "load_errors": sent["errors"],
            "load_p99_ms": sent["p99_ms"], "claimed_pending": claimed}  # fmt: skip


# ---------------------------------------------------------------- orchestration
async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"ingest": {}, "drain": {}}
    async with local_stack() as stack:
        env = {**stack.server_env, "FAIRHUB_WAITAOF_REPLICAS": "0"}
        setups: dict[str, Setup] = {}
        cluster = EmbeddedRedisCluster(stack.tmp / "cluster")
        try:
            if args.only & {"a", "drain"}:
                fairs = await create_fairs(stack.settings, args.fairs)
                pids = {"redis": [stack.redis_pid]}
                setups["a"] = Setup("a", make_redis(stack.settings), env, fairs, pids)
            if args.only & {"b", "c", "drain", "handover"}:
                cluster.start()
                settings = stack.settings.model_copy(update={"redis_url": cluster.url})
                fairs = await create_fairs(settings, args.fairs)
                primaries, pid = cluster.primaries(), {n.port: n.pid_path for n in cluster.nodes}
                pids = {"redis": [int(pid[p].read_text()) for p in primaries],
                        "replicas": [int(f.read_text()) for p, f in pid.items()
                                     if p not in primaries]}  # fmt: skip
                redis = make_redis(settings)
                env = {**env, "FAIRHUB_REDIS_URL": cluster.url}
                setups["b"] = Setup("b", redis, env, fairs, pids)
                setups["c"] = Setup(
                    "c", redis, {**env, "FAIRHUB_WAITAOF_REPLICAS": "1"}, fairs, pids
                )
            for setup in setups.values():  # both layouts were recorded by create_fairs' gateway
                keys.use_partitions(int(await setup.redis.hget(keys.LAYOUT, "partitions")))
            if "b" in setups:
                nodes = Counter(
                    cluster.primary_of_slot(
                        setups["b"].redis.keyslot(  # type: ignore[union-attr]
                            keys.partition_stream(p)
                        )
                    )
                    for p in range(keys.partitions())
                )
                results["partitions_per_primary"] = sorted(nodes.values())
            print(f"{args.fairs:,} fairs per Redis setup, {keys.partitions()} partitions")
            for key, n in [(k, n) for k in "abc" if k in args.only for n in (1, 2)]:
                print(f"ingest {LABELS[key]}, {n} gateway process(es) ...", flush=True)
                results["ingest"][f"{key}{n}"] = await run_ingest(
                    stack.procs, stack, setups[key], n, args
                )
            for key, n in [(k, n) for k in "ac" if "drain" in args.only for n in (1, 2)]:
                print(f"drain {LABELS[key]}, {n} worker process(es) ...", flush=True)
                results["drain"][f"{key}{n}"] = await run_drain(
                    stack.procs, stack, setups[key], n, args
                )
            if "handover" in args.only:
                print("handover on (c): 2 worker processes, one SIGKILLed ...", flush=True)
                results["handover"] = await run_handover(stack.procs, stack, setups["c"])
        finally:
            stack.procs.stop_all()
            for client in {id(s.redis): s.redis for s in setups.values()}.values():
                await client.aclose()
            cluster.stop()
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, float]:
    """Print the tables and the scaling model; return CPU seconds per 1,000 events."""
    cost: dict[str, float] = {}
    print(
        f"\ningest: {args.fairs:,} fairs, {BATCH} events/request, {args.clients} clients, "
        f"{args.seconds:g} s after {WARMUP:g} s warm-up; each 202 durable\n"
        f"{'redis':<26}{'gw':>3}{'events/s':>10}{'req/s':>7}{'p50 ms':>7}{'p99 ms':>7}"
        f"{'errors':>7}  cpu % of one core (2 cores = 200)"
    )
    for name, r in results["ingest"].items():
        cpu = " ".join(f"{k} {v:.0f}" for k, v in r["cpu_percent"].items())
        print(
            f"{LABELS[name[0]]:<26}{name[1]:>3}{r['events_per_s']:>10,.0f}"
            f"{r['requests_per_s']:>7,.0f}{r['p50_ms']:>7.1f}{r['p99_ms']:>7.1f}"
            f"{r['errors']:>7}  {cpu}"
        )
        for kind, count in r["error_kinds"].items():
            print(f"    {count} x {kind}")
        for part in ("gateway", "redis", "replicas"):
            if part in r["cpu_percent"]:
                cost[f"{name}_{part}"] = per_1000(r["cpu_percent"][part], r["events_per_s"])
    if "partitions_per_primary" in results:
        print(f"partitions per primary: {results['partitions_per_primary']}")
    print(
        f"\ndrain: {args.drain_events:,} events over {args.fairs:,} fairs, appended as the "
        "gateway writes them once the leases have settled; timed until all acknowledged\n"
        f"{'redis':<26}{'workers':>8}{'events/s':>10}{'after':>8}{'leases':>8}{'exact':>7}"
        "  cpu % of one core"
    )
    for name, d in results["drain"].items():
        cpu = " ".join(f"{k} {v:.0f}" for k, v in d["cpu_percent"].items())
        after = f"{d['after_append_events_per_s'] or 0:,.0f}"
        exact = "ok" if d["exact"] and d["drained"] else "FAIL"
        print(
            f"{LABELS[name[0]]:<26}{name[1]:>8}{d['events_per_s']:>10,.0f}{after:>8}"
            f"{d['leases_settled_s']:>7.1f}s{exact:>7}  {cpu}"
        )
        print(
            f"    appended in {d['append_s']:.1f} s ({d['acked_while_appending']:,} counted "
            f"meanwhile), all counted {d['seconds']:.1f} s after the first append"
        )
        for part in ("worker", "postgres"):
            cost[f"{name}_{part}"] = per_1000(d["cpu_percent"][part], d["events_per_s"])
    if h := results.get("handover"):
        nan = float("nan")
        print(
            f"\nhandover on (c): 2 worker processes, FAIRHUB_WORKER_LEASE_SECONDS={LEASE} (the "
            f"default), steady {RATE * BATCH:,} events/s; worker pid {h['killed_pid']} holding "
            f"{h['killed_owned']} partitions SIGKILLed after {BEFORE:g} s of load\n"
            f"    its partitions read again after {h['read_again_s'] or nan:.1f} s (no lease "
            f"names it; {h['claimed_pending']:,} pending entries claimed); backlog peak "
            f"{h['backlog_peak']:,}, back to <= {h['backlog_threshold']:,} after "
            f"{h['caught_up_s'] or nan:.1f} s\n    load stopped {h['load_stopped_s']:.1f} s "
            f"after the kill: {h['accepted']:,} events accepted ({h['load_errors']} errors, "
            f"p99 {h['load_p99_ms']:.0f} ms); /stats equal to them for {h['fairs_exact']:,}/"
            f"{args.fairs:,} fairs {h['counted_after_stop_s'] or nan:.1f} s after the stop"
        )
    scaling_model(cost)
    return cost


def scaling_model(c: dict[str, float]) -> None:
    print("\nscaling model, from CPU seconds per 1,000 events measured above:")
    src = "c1" if "c1_gateway" in c else "a1"
    if (g := c.get(f"{src}_gateway")) and (r := c.get(f"{src}_redis")):
        rep = f", replicas {c[src + '_replicas']:.3f}" if src == "c1" else ""
        cap = (
            f"3 primaries (a core each, a third of the partitions each) saturate near "
            f"{3000 / r:,.0f} events/s: ~{3 * g / r:.1f} gateway processes' worth"
            if src == "c1"
            else f"one Redis node saturates near {1000 / r:,.0f} events/s"
        )
        one = f"; one node, by (a): ~{1000 / c['a1_redis']:,.0f}" if "a1_redis" in c else ""
        print(
            f"  ingest {LABELS[src[0]]}: gateway process {g:.3f}, Redis primaries {r:.3f} "
            f"in all{rep}.\n  Each gateway process added on a core of its own adds "
            f"~{1000 / g:,.0f} events/s;\n  {cap}{one}."
        )
    drain = "c1" if "c1_worker" in c else "a1"
    if (w := c.get(f"{drain}_worker")) and (pg := c.get(f"{drain}_postgres")):
        print(
            f"  drain {LABELS[drain[0]]}: worker process {w:.3f}, Postgres {pg:.3f}. Each "
            f"worker added on a core of its own adds ~{1000 / w:,.0f} events/s\n  and needs "
            f"{pg / w:.2f} more cores of Postgres (at most {keys.partitions()} workers: "
            "one per partition)."
        )
    print(
        "  On this 2-core machine the gateways, workers, Redis nodes, Postgres and the load\n"
        "  generator share the same two cores, so 2 processes cannot beat 1: these runs prove\n"
        "  the cluster path correct and measure its overhead per event, not speed-up.\n"
        "  Loopback hides network round trips; per-core figures taken under contention."
    )


def main() -> None:
    if sys.argv[1:2] == ["_load"]:
        install_uvloop()
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
    started, inherited = datetime.now(UTC), inherited_environment()
    try:
        results = asyncio.run(benchmark(args))
    except KeyboardInterrupt:
        sys.exit("interrupted; every process the benchmark started was stopped")
    cost = report(results, args)
    write_results(
        "cluster",
        started,
        {
            "args": {**vars(args), "only": sorted(args.only)},
            "environment": inherited,
            "results": results,
            "cpu_seconds_per_1000_events": cost,
        },
    )


if __name__ == "__main__":
    main()
