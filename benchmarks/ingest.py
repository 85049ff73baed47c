"""Ingest benchmark: how fast events get in (gateway) and how fast they get counted (worker).

Why: FairHub's promise is "every event is durable before it is acknowledged, and counted
exactly". This script puts numbers on what that costs, on this machine, in one run:

  (a) floor    a bare aiohttp app doing one XADD per request (no validation, no WAITAOF):
               the most a Python HTTP process in front of this Redis can do;
  (b) single   the real gateway (`python -m fairhub serve`), one event per request;
  (c) batch    the same gateway, 100 events per request;
  (d) drain    200,000 events preloaded into one fair's stream, exactly as the gateway
               writes them (one stream entry per 100-event request), drained by ONE
               `python -m fairhub worker` (timed from its first read; the time from its
               start is printed too); plus an exactness check of the fair-level counters
               against what was preloaded.

Everything runs locally: embedded Postgres and Redis (AOF, fsync always) under a temp dir;
every server is its own process, the load generator (64 asyncio clients, keep-alive) is
another. Targets: (b) >= 0.6 x (a) events/s and p99 <= 25 ms, (c) >= 50,000 events/s,
(d) >= 30,000 events/s. Results: a table on stdout and benchmarks/results/ingest-<UTC>.json.

    python benchmarks/ingest.py [--seconds 10] [--clients 64] [--drain-events 200000]
                                [--only a,b,c,d] [--processes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import aiohttp
import asyncpg
from aiohttp import web
from common import (
    Processes,
    busy_seconds,
    cpu_during,
    cpu_seconds,
    create_fairs,
    inherited_environment,
    install_uvloop,
    local_stack,
    wait_ready,
    write_results,
)
from redis.asyncio import Redis

from fairhub import keys
from fairhub.config import Settings
from fairhub.directory import Directory, SeekerCard
from fairhub.embedded import free_port
from fairhub.events import event_adapter
from fairhub.layout import ensure_group
from fairhub.loops import new_loop
from fairhub.redis import make_redis, open_redis

WARMUP_SECONDS = 2.0
BATCH = 100
SEEKERS = 20_000  # distinct seekers the check-in load cycles through
SAMPLE_EVERY = 20  # parse one response body in N to check every event was "accepted"
# Expected metric of each preloaded type (independent of workers/handlers.py on purpose).
DRAIN_MIX = {
    "checkin": ("checkins", 35),
    "booth_visit": ("booth_visits", 30),
    "qr_scan": ("qr_scans", 15),
    "resume_submitted": ("resumes_submitted", 12),
    "intent_agreed": ("intents", 8),
}


# ---------------------------------------------------------------- child: floor server
def serve_floor(redis_url: str, port: int, stream: str) -> None:
    """(a): read the body, XADD it, answer 202. Same Redis client settings as the gateway."""

    async def redis_ctx(app: web.Application) -> Any:
        async with open_redis(Settings(redis_url=redis_url)) as client:
            app["redis"] = client
            yield

    async def post(request: web.Request) -> web.Response:
        await request.app["redis"].xadd(stream, {"e": await request.read()})
        return web.Response(status=202)

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.cleanup_ctx.append(redis_ctx)
    app.router.add_post("/v1/fairs/{fair}/events", post)
    app.router.add_get("/healthz", healthz)
    # The floor runs on the gateway's own loop (uvloop): the best bare handler this machine has.
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None, loop=new_loop())


# ---------------------------------------------------------------- child: load generator
async def generate_load(cfg: dict[str, Any]) -> dict[str, Any]:
    """`clients` keep-alive clients post as fast as answers come; measure after warm-up."""
    url, batch, run = cfg["url"], cfg["batch"], cfg["run"]
    headers = {"Authorization": f"Bearer {cfg['token']}", "Content-Type": "application/json"}
    tail = f'","type":"checkin","occurred_at":"{cfg["occurred_at"]}","seeker_id":"s'
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ok = checked = 0
    watched = {"loadgen": [os.getpid()], **cfg["watch"]}
    start = time.perf_counter()
    warm_end, end = start + cfg["warmup"], start + cfg["warmup"] + cfg["seconds"]

    def body(client: int, n: int) -> bytes:
        base = f"{run}-{client}-{n}"
        if batch == 1:
            return ('{"id":"' + base + tail + f'{n % SEEKERS}"}}').encode()
        items = [f'{{"id":"{base}-{i}{tail}{(n * batch + i) % SEEKERS}"}}' for i in range(batch)]
        return ('{"events":[' + ",".join(items) + "]}").encode()

    async def client(session: aiohttp.ClientSession, c: int) -> None:
        nonlocal ok, checked
        n = 0
        while True:
            data = body(c, n)
            sent = time.perf_counter()
            try:
                async with session.post(url, data=data) as resp:
                    status, raw = resp.status, await resp.read()
            except aiohttp.ClientError as exc:
                status, raw = -1, type(exc).__name__.encode()
            done = time.perf_counter()
            if done >= end:
                return
            n += 1
            if done < warm_end:
                continue
            if status != 202:
                errors[f"HTTP {status}: {raw[:120].decode(errors='replace')}"] += 1
                continue
            ok += 1
            latencies.append(done - sent)
            if n % SAMPLE_EVERY == 0 and raw:
                checked += 1
                for result in json.loads(raw)["results"]:
                    if result["status"] != "accepted":
                        errors[f"event {result['status']}: {result.get('reason')}"] += 1

    connector = aiohttp.TCPConnector(limit=cfg["clients"], limit_per_host=0)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        cpu_task = asyncio.create_task(cpu_during(watched, warm_end, end))
        await asyncio.gather(*(client(session, c) for c in range(cfg["clients"])))
        cpu = await cpu_task
    latencies.sort()

    def pct(p: float) -> float:
        return 1000 * latencies[max(0, math.ceil(p * len(latencies)) - 1)] if latencies else 0.0

    seconds = cfg["seconds"]
    return {"requests_per_s": ok / seconds, "events_per_s": ok * batch / seconds,
            "p50_ms": pct(0.50), "p99_ms": pct(0.99), "requests": ok,
            "errors": sum(errors.values()), "error_kinds": dict(errors.most_common(5)),
            "sampled_responses": checked, "cpu_percent": cpu}  # fmt: skip


def run_load_child(cfg: dict[str, Any]) -> None:
    install_uvloop()
    print(json.dumps(asyncio.run(generate_load(cfg))))


# ---------------------------------------------------------------- parent: orchestration
def drain_events(fair: str, count: int) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """Payloads exactly as the gateway writes them, and the expected {metric: (total, uniq)}."""
    rng = random.Random(42)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=9)
    types, weights = list(DRAIN_MIX), [w for _, w in DRAIN_MIX.values()]
    totals: Counter[str] = Counter()
    subjects: dict[str, set[str]] = {metric: set() for metric, _ in DRAIN_MIX.values()}
    payloads = []
    for n in range(count):
        kind = rng.choices(types, weights)[0]
        seeker, position = f"sk{rng.randrange(20_000)}", rng.randrange(2_300)
        employer = f"em{position % 80}" if kind != "booth_visit" else f"em{rng.randrange(80)}"
        when = start + timedelta(seconds=rng.randrange(8 * 3600))
        item: dict[str, Any] = {"id": f"drain-{fair[:8]}-{n}", "type": kind,
                                "seeker_id": seeker, "occurred_at": when}  # fmt: skip
        if kind == "qr_scan":
            item["target"], item["target_id"] = rng.choice(
                [("fair", None), ("employer", employer), ("position", f"po{position}")]
            )
        elif kind in ("booth_visit", "resume_submitted", "intent_agreed"):
            item["employer_id"] = employer
            if kind != "booth_visit":
                item["position_id"] = f"po{position}"
            if kind == "resume_submitted":
                item["channel"] = "onsite"
        payloads.append(event_adapter.validate_python(item).model_dump_json(exclude_none=True))
        metric = DRAIN_MIX[kind][0]
        totals[metric] += 1
        subjects[metric].add(seeker)
    return payloads, {m: (totals[m], len(subjects[m])) for m in subjects if totals[m]}


async def read_and_acknowledged(redis: Redis, fair: str) -> tuple[int, int]:
    """Entries the aggregator group has read, and of those, acknowledged."""
    groups: Any = await redis.xinfo_groups(keys.stream(fair))
    group = next((g for g in groups if g["name"] == keys.GROUP.encode()), None)
    if group is None:
        return 0, 0
    read = int(group["entries-read"] or 0)
    return read, read - int(group["pending"])


async def run_drain(
    procs: Processes, args: argparse.Namespace, settings: Settings, fair: str, postgres_pid: int
) -> dict[str, Any]:
    payloads, expected = drain_events(fair, args.drain_events)
    async with open_redis(settings) as redis:
        # The earlier scenarios' streams were dropped: the worker drains only these.
        await ensure_group(redis, keys.stream(fair))
        # As the gateway writes a request of BATCH events that has a flush to itself: one
        # stream entry, the events joined by newlines (a busier flush joins more).
        entries = ["\n".join(payloads[i : i + BATCH]) for i in range(0, len(payloads), BATCH)]
        for i in range(0, len(entries), 500):
            async with redis.pipeline(transaction=False) as pipe:
                for joined in entries[i : i + 500]:
                    pipe.xadd(keys.stream(fair), {"f": fair, "b": joined})
                await pipe.execute()
    env = {"FAIRHUB_DATABASE_URL": str(settings.database_url), "FAIRHUB_LOG_LEVEL": "WARNING",
           "FAIRHUB_REDIS_URL": str(settings.redis_url)}  # fmt: skip
    conn = await asyncpg.connect(str(settings.database_url))
    redis = make_redis(settings)
    try:
        written0 = await rows_written(conn)
        pg_cpu0, machine0 = cpu_seconds([postgres_pid]), busy_seconds()
        started = time.perf_counter()
        worker = procs.start("worker", ["-m", "fairhub", "worker"], env)
        # Done when the group has read every entry and none is pending: each one was then
        # committed before its XACK. Polling Redis keeps the poll off Postgres, the bottleneck.
        # The drain is timed from the worker's first read: before it, the process starts
        # (Python imports, connections, partition leases: ~1.3 s here), which is not draining.
        acked, reading, first = 0, 0.0, 0.0
        deadline = started + max(120.0, args.drain_events / 1000)
        while acked < len(entries) and time.perf_counter() < deadline:
            if worker.poll() is not None:
                raise RuntimeError(f"worker exited:\n{procs.tail('worker')}")
            await asyncio.sleep(0.01 if not reading else 0.05)
            read, acked = await read_and_acknowledged(redis, fair)
            reading = reading or (time.perf_counter() if read else 0.0)
            first = first or (time.perf_counter() if acked else 0.0)
        elapsed = time.perf_counter() - started
        draining = elapsed - (reading - started)
        worker_cpu = cpu_seconds([worker.pid])
        pg_cpu = cpu_seconds([postgres_pid]) - pg_cpu0
        other = busy_seconds() - machine0 - worker_cpu - pg_cpu
        procs.stop(worker)
        count = await conn.fetchval("SELECT count(*) FROM events WHERE fair_id = $1", fair)
        # The worker's sessions have ended, so their statistics have reached pg_stat.
        written = {t: n - written0.get(t, 0) for t, n in (await rows_written(conn)).items()}
        rows = await conn.fetch(
            "SELECT metric, total, uniq FROM counters WHERE fair_id = $1 AND dim = 'fair'", fair
        )
    finally:
        await conn.close()
        await redis.aclose()
    got = {r["metric"]: (r["total"], r["uniq"]) for r in rows}
    cpu = {"worker": worker_cpu, "postgres": pg_cpu, "other": max(0.0, other)}
    return {"events": count, "seconds": elapsed, "events_per_s": count / draining,
            "seconds_draining": draining, "events_per_s_from_start": count / elapsed,
            "seconds_after_first_commit": elapsed - (first - started) if first else None,
            "cpu_us_per_event": {k: 1e6 * v / max(count, 1) for k, v in cpu.items()},
            "exact": got == expected and count == len(payloads), "expected": expected,
            "counters": got, "rows_written": written,
            "rows_per_event": sum(written.values()) / max(count, 1),
            "cpu_percent": {k: 100 * v / elapsed for k, v in cpu.items()}}  # fmt: skip


async def rows_written(conn: asyncpg.Connection) -> dict[str, int]:
    """Rows inserted or updated so far, per table (what each event costs Postgres to write)."""
    rows = await conn.fetch("SELECT relname, n_tup_ins + n_tup_upd AS n FROM pg_stat_user_tables")
    return {r["relname"]: r["n"] for r in rows if r["n"]}


async def register_seekers(settings: Settings, fairs: list[str]) -> None:
    """The load's 20,000 seekers, in each fair's directory, as a fair's import leaves them.

    Check-ins name seekers the gate must know (name, badge serial, revoked); a real fair has
    them in Redis before the gates open. With --unregistered every id is new to the gateway
    and its first sighting costs a Postgres read (an integration sending ids of its own).
    """
    cards = [SeekerCard(id=f"s{n}", name=f"学生{n}", serial=0) for n in range(SEEKERS)]
    async with open_redis(settings) as redis:
        directory = Directory(cast(Any, None), redis)  # only Redis: nothing is read
        for fair in fairs:
            await directory.remember(fair, cards)


async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    async with local_stack() as stack:
        procs, redis, settings = stack.procs, stack.redis, stack.settings
        fairs = await create_fairs(settings, 3)
        if not args.unregistered:
            await register_seekers(settings, [fair for fair, _ in fairs])
        gateway_env = stack.server_env
        scenarios = {"a": ("floor", 1, 0), "b": ("single", 1, 0), "c": ("batch", BATCH, 1)}
        occurred_at = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:00Z")
        for key, (name, batch, fair_index) in scenarios.items():
            if key not in args.only:
                continue
            fair, token = fairs[fair_index]
            port = free_port()
            if key == "a":
                fair = "floor-" + secrets.token_hex(4)
                server = procs.start(
                    "floor", [__file__, "_floor", redis.url, str(port), keys.stream(fair)]
                )
            else:
                server = procs.start(
                    f"gateway-{name}",
                    ["-m", "fairhub", "serve", "--processes", str(args.processes)],
                    {**gateway_env, "FAIRHUB_PORT": str(port)},
                )
            gateways = f", {args.processes} gateway processes" if key != "a" else ""
            print(
                f"({key}) {name}: {args.clients} clients{gateways}, {args.seconds:g} s ...",
                flush=True,
            )
            try:
                await wait_ready(procs, server, "floor" if key == "a" else f"gateway-{name}", port)
                results[key] = await procs.run_json(f"load-{name}", [__file__, "_load", json.dumps({
                    "url": f"http://127.0.0.1:{port}/v1/fairs/{fair}/events", "token": token,
                    "batch": batch, "clients": args.clients, "seconds": args.seconds,
                    "warmup": WARMUP_SECONDS, "run": f"{name}{secrets.token_hex(3)}",
                    "watch": {"server": [server.pid], "redis": [stack.redis_pid]},
                    "occurred_at": occurred_at,
                })])  # fmt: skip
            finally:
                procs.stop(server)
            async with open_redis(settings) as client:  # keep Redis lean for what follows
                await client.unlink(keys.stream(fair))
        if "d" in args.only:
            print(f"(d) drain: {args.drain_events:,} events, one worker ...", flush=True)
            results["d"] = await run_drain(procs, args, settings, fairs[2][0], stack.postgres_pid)
    return results


def report(results: dict[str, Any], processes: int = 1) -> list[dict[str, Any]]:
    """Print the table; return its rows (also written to the JSON)."""
    a, b, c, d = (results.get(k) for k in "abcd")
    checks: list[tuple[str, float, float | None, bool]] = []  # label, value, bound, higher?
    if b:
        floor = a["events_per_s"] if a else None
        bound = 0.6 * floor if floor else None
        checks.append(("(b) events/s >= 0.6 x (a)", b["events_per_s"], bound, True))
        checks.append(("(b) p99 ms <= 25", b["p99_ms"], 25.0, False))
    if c:
        checks.append(("(c) events/s >= 50,000", c["events_per_s"], 50_000.0, True))
    if d:
        checks.append(("(d) events/s >= 30,000", d["events_per_s"], 30_000.0, True))
    print(
        f"\n{'scenario':<22}{'req/s':>10}{'events/s':>11}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}   cpu % of one core (2 cores = 200)"
    )
    names = {"a": "(a) floor XADD", "b": "(b) gateway single", "c": f"(c) gateway batch {BATCH}"}
    for key, name in names.items():
        if r := results.get(key):
            cpu = " ".join(f"{k} {v:.0f}" for k, v in r["cpu_percent"].items())
            if key != "a" and processes > 1:
                cpu += f" ({r['cpu_percent']['server'] / processes:.0f} per gateway process)"
            print(
                f"{name:<22}{r['requests_per_s']:>10,.0f}{r['events_per_s']:>11,.0f}"
                f"{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8}   {cpu}"
            )
            for kind, n in r["error_kinds"].items():
                print(f"    {n} x {kind}")
    if d:
        cpu = " ".join(f"{k} {v:.0f}" for k, v in d["cpu_percent"].items())
        print(f"{'(d) worker drain':<22}{'':>10}{d['events_per_s']:>11,.0f}{'':>26}   {cpu}")
        print(
            f"    {d['events']:,} events in {d['seconds_draining']:.2f} s from the worker's "
            f"first read ({d['seconds']:.2f} s from its start: "
            f"{d['events_per_s_from_start']:,.0f}/s; {d['seconds_after_first_commit'] or 0:.2f}"
            f" s after its first commit); fair counters exact: "
            f"{'ok' if d['exact'] else 'FAIL'}\n"
            "    CPU a drained event: "
            + ", ".join(f"{k} {v:.1f} µs" for k, v in d["cpu_us_per_event"].items())
            + "\n"
            "    (done when the group has acknowledged every entry; counted once at the end)"
        )
        per_table = ", ".join(f"{t} {n / max(d['events'], 1):.2f}"
                              for t, n in sorted(d["rows_written"].items()))  # fmt: skip
        print(f"    rows written per event: {d['rows_per_event']:.2f} ({per_table})")
        if not d["exact"]:
            print(f"    expected {d['expected']}\n    got      {d['counters']}")
    rows = []
    print(f"\n{'target':<28}{'measured':>12}{'target':>12}{'ratio':>8}   result")
    for label, value, target, higher in checks:
        if target is None:
            rows.append({"target": label, "measured": value, "result": "n/a: run (a) too"})
            print(f"{label:<28}{value:>12,.1f}{'?':>12}{'':>8}   n/a: run (a) too")
            continue
        result = "PASS" if (value >= target if higher else value <= target) else "MISS"
        rows.append({"target": label, "measured": value, "threshold": target,
                     "ratio": value / target, "result": result})  # fmt: skip
        print(f"{label:<28}{value:>12,.1f}{target:>12,.1f}{value / target:>8.2f}   {result}")
    if a and b:
        print(f"(b)/(a) = {b['events_per_s'] / a['events_per_s']:.2f}")
    return rows


def main() -> None:
    if sys.argv[1:2] == ["_floor"]:
        return serve_floor(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    if sys.argv[1:2] == ["_load"]:
        return run_load_child(json.loads(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per load")
    parser.add_argument("--clients", type=int, default=64, help="concurrent HTTP clients")
    parser.add_argument("--drain-events", type=int, default=200_000, help="events for (d)")
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated subset of a,b,c,d")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="gateway processes for (b) and (c) (`fairhub serve --processes N`, SO_REUSEPORT)",
    )
    parser.add_argument(
        "--unregistered",
        action="store_true",
        help="check in seeker ids the fair does not know (each first sighting reads Postgres)",
    )
    args = parser.parse_args()
    args.only = set(args.only.replace(" ", "").split(","))
    if args.processes < 1:
        parser.error("--processes takes a whole number of processes, 1 or more")
    if not args.only <= set("abcd"):
        parser.error(f"--only takes letters among a,b,c,d, not {sorted(args.only - set('abcd'))}")
    started = datetime.now(UTC)
    inherited = inherited_environment()
    try:
        results = asyncio.run(benchmark(args))
    except KeyboardInterrupt:
        sys.exit("interrupted; every process the benchmark started was stopped")
    rows = report(results, args.processes)
    write_results("ingest", started, {"args": {**vars(args), "only": sorted(args.only)},
                                      "environment": inherited, "results": results,
                                      "targets": rows})  # fmt: skip


if __name__ == "__main__":
    main()
