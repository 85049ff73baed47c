"""Livestream benchmark: 100,000 viewers' presence, with résumés and questions, for 3 minutes.

Why: a livestream fair has viewers, not visitors. 100,000 phones joining over a minute and then
beating every 30 s are 3,300 requests/s, which must never become 3,300 Postgres rows/s:
presence lives in Redis (a sorted set per session), only joins and leaves enter the stream
and Postgres. This run says what that costs on this machine, and whether the figures a host
sees are exact.

What runs (all local, each its own process): embedded Postgres (track_commit_timestamp on)
and Redis (AOF, fsync always), `python -m fairhub serve`, ONE `python -m fairhub worker`,
and --loadgens load generators; --gateways N starts N gateways and spreads the viewers over
them by id, as a balancer would. A fair with 5 employers and 10 positions has a started
session; its host pins the next position every --pin-seconds.

The audience, open loop on an absolute schedule (a late request goes at once, none skipped):
viewer i joins at i x join-seconds / viewers and beats every --beat-seconds after that until
the run ends, --minutes after the first join; a --rejoin-share of the viewers reload the page
once (their first beat is a join: a second view by the same viewer). Each request is one
viewer's POST /live/{session}/presence {viewer_id, kind}, exactly what viewer.js sends: that
is what 100,000 phones do. The generators speak bare HTTP/1.1 keep-alive, one request at a
time per connection (no pipelining), --connections per generator: far cheaper per request
than aiohttp's client, so they take as little as possible of the cores the servers need.
Their CPU is reported all the same. Meanwhile --resumes `resume_submitted` events (channel
live, the session, an employer, one of its positions) arrive as one batch a second through
POST /v1/fairs/{fair}/events with the organizer's token, and --consultations questions
through the public POST /live/{session}/questions, both spread evenly over the run. (The
multipart résumé upload stores a file first; a file store's speed is not what this measures.)

Measured:
  events/s      answers per second by kind, against what was offered, per phase (joining:
                the first --join-seconds; steady: beats only, and rejoins);
  latency       from a request's scheduled time to its answer (what the phone waits: time
                queued in the generator counts), p50/p99 per kind and phase; how late the
                generators sent is reported apart, to tell their lag from the servers'. When
                the servers cannot keep up, requests queue and latency grows without bound:
                the run says so rather than sending less;
  worker lag    the stream's lag and pending entries over time; and exactly, for every join,
                résumé and question, until the commit of the transaction that counted it
                (Postgres commit timestamps; the session document reads those counters, so a
                read after the commit shows the event): from its XADD (the entry id's time),
                which is the worker's lag, and from its answer, which is the "202 until
                counted" a client sees (negative when the worker beat the answer home);
  Redis         used_memory before, at most during, after; the presence set's members and
                bytes per viewer; keys added (each join keeps a dedupe key); the stream's
                length; what the AOF took in; Redis' own time per command (commandstats);
  Postgres      rows inserted and updated per minute, per table (pg_stat_user_tables);
  CPU           % of one core of every process, per phase;
  exactness     the host's figures against what was sent: views, unique viewers, viewers now,
                peak, résumés, consultations, by employer and by pin; not one beat in Postgres.
Then, unless --probe-seconds is 0, closed-loop capacity probes of one gateway, on a second
session: beats one viewer per request (64 clients), beats batched through the events API with
the host's token (500 per request, 8 clients: what an integration would do), then joins the
same two ways, with the worker's commit rate and drain after each.

Results: tables on stdout and benchmarks/results/live-<UTC>.json.

    python benchmarks/live.py [--quick] [--viewers 100000] [--join-seconds 60]
        [--beat-seconds 30] [--minutes 3] [--resumes 5000] [--consultations 2000]
        [--gateways 1] [--loadgens 1] [--connections 256] [--probe-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import math
import os
import secrets
import subprocess
import sys
import time
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import aiohttp
import asyncpg
import psutil
from common import (
    Stack,
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

from fairhub import keys, viewer_ids
from fairhub.config import Settings
from fairhub.embedded import free_port
from fairhub.redis import make_redis

EMPLOYERS, POSITIONS_EACH = 5, 2
KINDS = ("join", "beat", "resume", "question")
JOIN, BEAT, RESUME, QUESTION = range(4)
OK_STATUS = (200, 200, 202, 202)
RESUME_PERIOD = 1.0  # one résumé batch a second
START_DELAY = 3.0  # for the generators to start before the first join
DRAIN_TIMEOUT = 300.0
STATS_DELAY = 11.0  # an idle Postgres backend reports its writes to pg_stat within 10 s
PROBE_WARMUP = 1.0
PROBE_BATCH = 500
PROBES = {  # kind -> clients
    "presence_beat": 64,
    "batch_beat": 8,
    "presence_join": 64,
    "batch_join": 8,
}
VIEWER_SECRET = "benchmark-viewer-key"  # the gateways' (FAIRHUB_VIEWER_SECRET) and ours
TABLES = ("events", "counters", "uniques", "live_questions", "live_samples")
DEFAULTS = {"viewers": 100_000, "join_seconds": 60.0, "beat_seconds": 30.0, "minutes": 3.0,
            "resumes": 5000, "consultations": 2000, "probe_seconds": 10.0}  # fmt: skip
QUICK = {"viewers": 5000, "join_seconds": 20.0, "beat_seconds": 30.0, "minutes": 1.0,
         "resumes": 1000, "consultations": 400, "probe_seconds": 3.0}  # fmt: skip
COMMITS_SQL = """
    SELECT type, id, payload ->> 'viewer_id' AS viewer,
           extract(epoch FROM occurred_at)::float8 AS occurred,
           extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 AS committed,
           split_part(stream_id, '-', 1)::float8 / 1000 AS added
    FROM events WHERE fair_id = $1 AND session_id = $2
"""


# ---------------------------------------------------------------- child: bare HTTP client
class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time, as a phone's browser sends."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.answer is None:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:  # aiohttp's JSON answers always say their length
            self.fail(ConnectionError("an answer without Content-Length"))
            return
        stop = head.find(b"\r\n", at + 2)
        size = end + 4 + int(head[at + 17 : stop if stop > 0 else len(head)])
        if len(self.buffer) < size:
            return
        status, body = int(self.buffer[9:12]), bytes(self.buffer[end + 4 : size])
        del self.buffer[:size]
        answer, self.answer = self.answer, None
        if not answer.done():
            answer.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(ConnectionError(f"connection lost: {exc!r}"))

    def fail(self, exc: Exception) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc)
        self.answer = None

    async def send(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None and self.answer is None
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.answer


class Client:
    """Keep-alive connections to one local server, at most `size` of them at once."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.slots = asyncio.Semaphore(size)
        self.idle: list[Connection] = []

    def head(self, path: str, token: str | None = None) -> bytes:
        """A POST's request line and headers, up to the value of Content-Length."""
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        return (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{auth}"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        async with self.slots:
            while self.idle and self.idle[-1].closed:
                self.idle.pop()
            if self.idle:
                conn = self.idle.pop()
            else:
                loop = asyncio.get_running_loop()
                _, conn = await loop.create_connection(Connection, "127.0.0.1", self.port)
            answer = await conn.send(b"%s%d\r\n\r\n%s" % (head, len(body), body))
            if not conn.closed:
                self.idle.append(conn)
            return answer

    def close(self) -> None:
        for conn in self.idle:
            conn.fail(ConnectionError("closed"))


def own_cpu() -> float:
    t = psutil.Process().cpu_times()
    return float(t.user + t.system)


def percentiles(values: Sequence[float], scale: float = 1.0) -> dict[str, float | None]:
    """Nearest-rank p50/p99/max of `values` (multiplied by `scale`)."""
    if not values:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pct(p: float) -> float:
        return scale * ordered[max(0, math.ceil(p * len(ordered)) - 1)]

    return {"p50": pct(0.50), "p99": pct(0.99), "max": scale * ordered[-1]}


# ---------------------------------------------------------------- child: the audience
def join_at(cfg: dict[str, Any], viewer: int) -> float:
    return float(viewer * cfg["join_seconds"] / cfg["viewers"])


def rejoins(viewer: int, share: float) -> bool:
    """Whether this viewer reloads the page once: exactly `share` of every 10,000 viewers."""
    return (viewer * 2654435761) % 10_000 < share * 10_000


def resume_batch(cfg: dict[str, Any], b: int) -> range:
    """The résumés of batch b: those due in [b, b+1) periods (due evenly over the run)."""
    n, run = cfg["resumes"], cfg["run_seconds"]
    per = n * RESUME_PERIOD / run
    return range(min(n, math.ceil(b * per)), min(n, math.ceil((b + 1) * per)))


def viewer_id(cfg: dict[str, Any], name: str) -> str:
    """The id the gateways would have issued to viewer `name`: signed with their key."""
    return viewer_ids.sign(VIEWER_SECRET.encode(), cfg["fair"], name)


def question_viewer(cfg: dict[str, Any], j: int, due: float) -> int:
    """A viewer who joined at least a second before the question."""
    joined = int(cfg["viewers"] * min(1.0, max(0.0, due - 1) / cfg["join_seconds"]))
    return (j * 7919) % max(1, joined)


def schedule(cfg: dict[str, Any]) -> Iterator[tuple[float, int, int]]:
    """(due second, kind, index) in due order: this generator's viewers' joins and beats, and
    for generator 0 the résumé batches and the questions."""
    me, step, run, beat = cfg["index"], cfg["loadgens"], cfg["run_seconds"], cfg["beat_seconds"]

    def round_(m: int) -> Iterator[tuple[float, int, int]]:
        for i in range(me, cfg["viewers"], step):
            due = join_at(cfg, i) + m * beat
            if due >= run:
                return  # due grows with i
            first = m == 0 or (m == 1 and rejoins(i, cfg["rejoin_share"]))
            yield due, JOIN if first else BEAT, i

    sources = [round_(m) for m in range(math.ceil(run / beat) + 1)]
    if me == 0:
        batches = math.ceil(run / RESUME_PERIOD)
        sources.append(
            ((b + 0.5) * RESUME_PERIOD, RESUME, b) for b in range(batches) if resume_batch(cfg, b)
        )
        q = cfg["consultations"]
        sources.append(((j + 0.5) * run / q, QUESTION, j) for j in range(q))
    return heapq.merge(*sources)


class Record:
    """Per request of one kind: due (ms after start), latency (µs from due), status, index."""

    def __init__(self) -> None:
        self.due_ms, self.lat_us = array("q"), array("q")
        self.status, self.index = array("h"), array("q")
        self.late: list[float] = []  # seconds from due until sent

    def add(self, due: float, late: float, latency: float, status: int, index: int) -> None:
        self.due_ms.append(round(1000 * due))
        self.lat_us.append(round(1e6 * latency))
        self.status.append(status)
        self.index.append(index)
        self.late.append(late)

    def dump(self) -> dict[str, Any]:
        return {"due_ms": self.due_ms.tolist(), "lat_us": self.lat_us.tolist(),
                "status": self.status.tolist(), "index": self.index.tolist(),
                "late_ms": percentiles(self.late, 1000)}  # fmt: skip


async def audience(cfg: dict[str, Any]) -> dict[str, Any]:
    """Send this generator's share of the schedule; record every answer."""
    clients = [Client(port, cfg["connections"]) for port in cfg["ports"]]
    session, start, run = cfg["session"], cfg["start"], cfg["run_seconds"]
    heads = [
        [c.head(f"/live/{session}/presence")] * 2
        + [c.head(f"/v1/fairs/{cfg['fair']}/events", cfg["organizer"])]
        + [c.head(f"/live/{session}/questions")]
        for c in clients
    ]
    records = [Record() for _ in KINDS]
    errors: Counter[str] = Counter()
    accepted = [0] * len(KINDS)
    positions = cfg["positions"]  # [position, employer], employer by employer
    in_flight: set[asyncio.Task[None]] = set()

    def body(kind: int, i: int, due: float) -> bytes:
        if kind in (JOIN, BEAT):
            return b'{"viewer_id":"%s","kind":"%s"}' % (
                viewer_id(cfg, f"viewer-{i}").encode(),
                b"join" if kind == 0 else b"beat",
            )
        now = datetime.now(UTC).isoformat()
        if kind == QUESTION:
            employer = positions[(i % EMPLOYERS) * POSITIONS_EACH][1]
            asker = viewer_id(cfg, f"viewer-{question_viewer(cfg, i, due)}")
            return json.dumps({"id": f"ask-{cfg['run']}-{i}", "viewer_id": asker,
                               "employer_id": employer,
                               "question": f"第{i}个问题: 实习转正吗?"}).encode()  # fmt: skip
        items = []
        for j in resume_batch(cfg, i):
            position, employer = positions[(j % EMPLOYERS) * POSITIONS_EACH + j // EMPLOYERS % 2]
            items.append({"id": f"cv-{cfg['run']}-{i}-{j}", "type": "resume_submitted",
                          "occurred_at": now, "seeker_id": f"seeker-{j}",
                          "employer_id": employer, "position_id": position,
                          "channel": "live", "session_id": session})  # fmt: skip
        return json.dumps({"events": items}).encode()

    async def send(kind: int, i: int, due: float) -> None:
        sent = time.time()
        try:
            g = i % len(clients)  # a balancer spreads viewers over the gateways
            status, raw = await clients[g].post(heads[g][kind], body(kind, i, due))
        except OSError as exc:
            status, raw = -1, repr(exc).encode()
        answered = time.time()
        records[kind].add(due, sent - start - due, answered - start - due, status, i)
        if status != OK_STATUS[kind]:
            errors[f"{KINDS[kind]} HTTP {status}: {raw[:100].decode(errors='replace')}"] += 1
        elif kind == RESUME:
            for result in json.loads(raw)["results"]:
                if result["status"] == "accepted":
                    accepted[kind] += 1
                else:
                    errors[f"resume {result['status']}: {result.get('reason')}"] += 1
        elif kind == QUESTION:
            if json.loads(raw)["status"] == "accepted":
                accepted[kind] += 1
            else:
                errors[f"question {raw[:100].decode(errors='replace')}"] += 1

    async def cpu_by_phase() -> dict[str, float]:
        marks = {"joining": start + cfg["join_seconds"], "steady": start + run}
        used, before = {}, own_cpu()
        for phase, until in marks.items():
            await asyncio.sleep(max(0.0, until - time.time()))
            now = own_cpu()
            used[phase], before = now - before, now
        return used

    cpu = asyncio.create_task(cpu_by_phase())
    await asyncio.sleep(max(0.0, start - time.time()))
    for due, kind, i in schedule(cfg):
        delay = start + due - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(kind, i, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    await asyncio.gather(*in_flight)
    for c in clients:
        c.close()
    return {
        "kinds": {name: r.dump() for name, r in zip(KINDS, records, strict=True)},
        "accepted": dict(zip(KINDS, accepted, strict=True)),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(8)),
        "cpu_seconds": await cpu,
    }


# ---------------------------------------------------------------- child: capacity probe
async def probe(cfg: dict[str, Any]) -> dict[str, Any]:
    """`clients` post as fast as answers come (closed loop); measured after a warm-up."""
    kind, clients, run = cfg["kind"], cfg["clients"], cfg["run"]
    client = Client(cfg["port"], clients)
    session = cfg["session"]
    batched = kind.startswith("batch")
    head = client.head(
        f"/v1/fairs/{cfg['fair']}/events" if batched else f"/live/{session}/presence",
        cfg["token"] if batched else None,
    )
    event_type = "live_heartbeat" if kind.endswith("beat") else "live_join"
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    watched = {"loadgen": [os.getpid()], **cfg["watch"]}
    start = time.perf_counter()
    warm_end, end = start + PROBE_WARMUP, start + PROBE_WARMUP + cfg["seconds"]
    ok = 0

    def body(c: int, n: int) -> bytes:
        if not batched:
            viewer = viewer_id(cfg, f"p{run}-{c}-{n if event_type == 'live_join' else n % 200}")
            return json.dumps(
                {"viewer_id": viewer, "kind": kind.removeprefix("presence_")}
            ).encode()
        now = datetime.now(UTC).isoformat()
        items = [{"id": f"{kind}-{run}-{c}-{n}-{k}", "type": event_type, "occurred_at": now,
                  "session_id": session, "viewer_id": f"p{run}-{c}-{n % 40}-{k}"}
                 for k in range(PROBE_BATCH)]  # fmt: skip
        return json.dumps({"events": items}).encode()

    async def one(c: int) -> None:
        nonlocal ok
        n = 0
        while True:
            data = body(c, n)
            sent = time.perf_counter()
            try:
                status, raw = await client.post(head, data)
            except OSError as exc:
                status, raw = -1, repr(exc).encode()
            done = time.perf_counter()
            if done >= end:
                return
            n += 1
            if done < warm_end:
                continue
            if status not in (200, 202):
                errors[f"HTTP {status}: {raw[:100].decode(errors='replace')}"] += 1
                continue
            ok += 1
            latencies.append(done - sent)
            if batched and n % 10 == 0:
                for result in json.loads(raw)["results"]:
                    if result["status"] != "accepted":
                        errors[f"event {result['status']}: {result.get('reason')}"] += 1

    cpu_task = asyncio.create_task(cpu_during(watched, warm_end, end))
    await asyncio.gather(*(one(c) for c in range(clients)))
    cpu = await cpu_task
    client.close()
    per_request = PROBE_BATCH if batched else 1
    seconds = cfg["seconds"]
    return {"kind": kind, "clients": clients, "requests_per_s": ok / seconds,
            "events_per_s": ok * per_request / seconds,
            **{f"{k}_ms": v for k, v in percentiles(latencies, 1000).items()},
            "errors": sum(errors.values()), "error_kinds": dict(errors.most_common(5)),
            "cpu_percent": cpu,
            "gateway_us_per_event": 1e4 * cpu["gateway"] / max(1.0, ok * per_request / seconds),
            }  # fmt: skip


def run_child(name: str, cfg: dict[str, Any]) -> None:
    install_uvloop()
    print(json.dumps(asyncio.run(audience(cfg) if name == "_viewers" else probe(cfg))))


# ---------------------------------------------------------------- parent: the fair
async def api(
    http: aiohttp.ClientSession, method: str, url: str, token: str, body: Any = None
) -> dict[str, Any]:
    async with http.request(
        method, url, json=body, headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        answer = await resp.json()
        if resp.status not in (200, 201):
            raise RuntimeError(f"{method} {url}: HTTP {resp.status} {answer}")
        return dict(answer)


async def prepare(
    http: aiohttp.ClientSession, base: str, fair: str, organizer: str
) -> dict[str, Any]:
    """Employers with positions, and two started sessions over all of them (the second one
    for the capacity probes, so that they leave the first one's figures alone)."""
    fair_url = f"{base}/v1/fairs/{fair}"
    employers, positions = [], []
    for n in range(EMPLOYERS):
        employer = await api(http, "POST", f"{fair_url}/employers", organizer, {"name": f"企业{n}"})
        employers.append(employer["id"])
        for k in range(POSITIONS_EACH):
            position = await api(http, "POST", f"{fair_url}/positions", organizer, {
                "employer_id": employer["id"], "title": f"岗位{n}-{k}", "job_type": "研发",
                "headcount": 5})  # fmt: skip
            positions.append([position["id"], employer["id"]])
    sessions = []
    for title in ("春招直播", "容量探测"):
        made = await api(
            http,
            "POST",
            f"{fair_url}/live-sessions",
            organizer,
            {"title": title, "employer_ids": employers, "platform": "抖音"},
        )
        url = f"{fair_url}/live-sessions/{made['id']}"
        await api(http, "POST", f"{url}/start", made["host_token"])
        sessions.append({"id": made["id"], "host": made["host_token"], "url": url})
    await api(http, "PUT", f"{sessions[0]['url']}/pin", sessions[0]["host"],
              {"position_id": positions[0][0]})  # fmt: skip
    return {"positions": positions, "main": sessions[0], "probe": sessions[1]}


async def rotate_pins(
    http: aiohttp.ClientSession, live: dict[str, Any], start: float, every: float,
    log: list[tuple[float, float]],
) -> None:  # fmt: skip
    """The host puts the next position on show every `every` seconds, as a real host would."""
    positions, main = live["positions"], live["main"]
    k = 1
    while True:
        await asyncio.sleep(max(0.0, start + k * every - time.time()))
        began = time.time()
        try:
            await api(http, "PUT", f"{main['url']}/pin", main["host"],
                      {"position_id": positions[k % len(positions)][0]})  # fmt: skip
        except (aiohttp.ClientError, RuntimeError) as exc:
            print(f"pin {k} failed: {exc!r}", flush=True)
        log.append((began - start, time.time() - began))
        k += 1


# ---------------------------------------------------------------- parent: monitor
class Monitor:
    """Samples over time: Redis memory and stream, Postgres writes, the figures, CPU."""

    def __init__(
        self, redis: Redis, pool: asyncpg.Pool, http: aiohttp.ClientSession,
        fair: str, live: dict[str, Any], watched: dict[str, list[int]], start: float,
    ) -> None:  # fmt: skip
        self.redis, self.pool, self.http = redis, pool, http
        self.fair, self.session = fair, live["main"]["id"]
        self.url, self.host = live["main"]["url"], live["main"]["host"]
        self.watched, self.start = watched, start
        self.samples: list[dict[str, Any]] = []

    def cpu(self) -> dict[str, float]:
        return {**{k: cpu_seconds(v) for k, v in self.watched.items()},
                "monitor": cpu_seconds([os.getpid()], children=False),
                "machine": busy_seconds()}  # fmt: skip

    async def sample(self) -> dict[str, Any]:
        at = time.time()
        stream = keys.stream(self.fair)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.info("memory")
            pipe.info("persistence")
            pipe.zcard(keys.live_viewers(self.fair, self.session))
            pipe.xlen(stream)
            pipe.dbsize()
            pipe.xinfo_groups(stream)
            answers = await pipe.execute(raise_on_error=False)
        memory, persistence, members, length, dbsize, groups = answers
        ours = (
            [g for g in groups if g["name"] == keys.GROUP.encode()]
            if isinstance(groups, list)
            else []
        )
        tables = {
            r["relname"]: [r["n_tup_ins"], r["n_tup_upd"]]
            for r in await self.pool.fetch(
                "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_user_tables"
            )
        }
        figures, began = None, time.time()
        try:
            async with self.http.get(
                self.url, headers={"Authorization": f"Bearer {self.host}"}
            ) as resp:
                if resp.status == 200:
                    figures = (await resp.json())["figures"]
        except aiohttp.ClientError:
            pass
        document_ms = 1000 * (time.time() - began)
        sample = {
            "t": at - self.start,
            "used_memory": memory["used_memory"],
            "aof_size": persistence["aof_current_size"],
            "aof_rewrites": persistence["aof_rewrites"],
            "presence": members,
            "stream_length": length,
            "keys": dbsize,
            "lag": ours[0].get("lag") if ours else None,
            "pending": ours[0]["pending"] if ours else None,
            "tables": tables,
            "figures": figures,
            "document_ms": document_ms,
            "cpu": await asyncio.to_thread(self.cpu),
        }
        self.samples.append(sample)
        return sample

    async def run(self, stop: asyncio.Event, every: float) -> None:
        next_at = time.time()
        while not stop.is_set():
            await self.sample()
            next_at += every
            try:
                await asyncio.wait_for(stop.wait(), max(0.0, next_at - time.time()))
            except TimeoutError:
                pass


async def drained(redis: Redis, fair: str) -> float | None:
    """When the group has read and acknowledged every entry of the fair's stream."""
    deadline = time.time() + DRAIN_TIMEOUT
    while time.time() < deadline:
        groups: Any = await redis.xinfo_groups(keys.stream(fair))
        ours = [g for g in groups if g["name"] == keys.GROUP.encode()]
        if ours and ours[0]["pending"] == 0 and ours[0].get("lag") in (0, None):
            return time.time()
        await asyncio.sleep(0.1)
    return None


# ---------------------------------------------------------------- parent: orchestration
async def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    async with local_stack({"track_commit_timestamp": "on"}) as stack:
        ((fair, organizer),) = await create_fairs(stack.settings, 1)
        env = dict(stack.server_env)
        if "FAIRHUB_LIVE_BEAT_SECONDS" not in os.environ:  # tell the pages the beat we send
            env["FAIRHUB_LIVE_BEAT_SECONDS"] = str(args.beat_seconds)
        # The generators hold the gateways' viewer key and sign their viewers' ids themselves
        # (a gateway issues 100 new viewers per 10 s to one address), and every question comes
        # from this one machine: the run measures capacity, not the limits on public traffic.
        env["FAIRHUB_VIEWER_SECRET"] = VIEWER_SECRET
        for name in ("FAIRHUB_LIVE_QUESTIONS_PER_ADDRESS", "FAIRHUB_LIVE_QUESTIONS_PER_VIEWER"):
            env.setdefault(name, "1000000000")
        ports = [free_port() for _ in range(args.gateways)]
        gateways = [
            stack.procs.start(f"gateway-{k}", ["-m", "fairhub", "serve"],
                              {**env, "FAIRHUB_PORT": str(port)})
            for k, port in enumerate(ports)
        ]  # fmt: skip
        worker = stack.procs.start("worker", ["-m", "fairhub", "worker"], env)
        for k, (gateway, port) in enumerate(zip(gateways, ports, strict=True)):
            await wait_ready(stack.procs, gateway, f"gateway-{k}", port)
        base = f"http://127.0.0.1:{ports[0]}"
        redis = make_redis(stack.settings)
        pool = await asyncpg.create_pool(stack.postgres.url, min_size=1, max_size=3)
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8)) as http:
                live = await prepare(http, base, fair, organizer)
                return await measure(args, stack, ports, fair, organizer, live, redis, pool,
                                     http, [g.pid for g in gateways], [worker.pid])  # fmt: skip
        finally:
            await pool.close()
            await redis.aclose()


async def measure(
    args: argparse.Namespace, stack: Stack, ports: list[int], fair: str, organizer: str,
    live: dict[str, Any], redis: Redis, pool: asyncpg.Pool, http: aiohttp.ClientSession,
    gateway: list[int], worker: list[int],
) -> dict[str, Any]:  # fmt: skip
    run_seconds = 60 * args.minutes
    start = time.time() + START_DELAY
    cfg = {"ports": ports, "fair": fair, "organizer": organizer, "session": live["main"]["id"],
           "positions": live["positions"], "viewers": args.viewers,
           "join_seconds": args.join_seconds, "beat_seconds": args.beat_seconds,
           "run_seconds": run_seconds, "resumes": args.resumes,
           "consultations": args.consultations, "rejoin_share": args.rejoin_share,
           "loadgens": args.loadgens, "connections": args.connections, "start": start,
           "presence_seconds": stack.settings.live_presence_seconds,
           "run": secrets.token_hex(3)}  # fmt: skip
    children = [
        stack.procs.start(
            f"load-{k}",
            [__file__, "_viewers", json.dumps({**cfg, "index": k})],
            stdout=subprocess.PIPE,
        )
        for k in range(args.loadgens)
    ]
    watched = {"gateway": gateway, "worker": worker, "postgres": [stack.postgres_pid],
               "redis": [stack.redis_pid], "loadgen": [c.pid for c in children]}  # fmt: skip
    monitor = Monitor(redis, pool, http, fair, live, watched, start)
    await asyncio.sleep(max(0.0, start - 0.5 - time.time()))  # Postgres' statistics catch up
    before = await monitor.sample()
    commands: Any = await redis.info("commandstats")
    stop, pins = asyncio.Event(), list[tuple[float, float]]()
    sampler = asyncio.create_task(monitor.run(stop, args.sample_seconds))
    pinner = asyncio.create_task(rotate_pins(http, live, start, args.pin_seconds, pins))
    print(
        f"load: {args.viewers:,} viewers joining over {args.join_seconds:g} s, beating every "
        f"{args.beat_seconds:g} s, {run_seconds:g} s in all; {args.resumes:,} résumés, "
        f"{args.consultations:,} questions; {args.loadgens} generator(s) ...",
        flush=True,
    )
    try:
        loads = await asyncio.gather(
            *(stack.procs.collect_json(f"load-{k}", c) for k, c in enumerate(children))
        )
        ended = time.time()
        at_end = await monitor.sample()
        objects = await redis_objects(redis, fair, live["main"]["id"])
    finally:
        pinner.cancel()
        await asyncio.gather(pinner, return_exceptions=True)
    sent = merge(loads)
    expected = expectations(sent, loads)
    print(f"load done; waiting for the worker (views {expected['views']:,}) ...", flush=True)
    drain_at = await drained(redis, fair)
    final = None
    while drain_at is not None and time.time() < drain_at + 10:
        # Every entry acknowledged is every entry committed: the figures are final (a short
        # wait only in case they are not, which the exactness table will then show).
        final = await monitor.sample()
        f = final["figures"] or {}
        if all(f.get(k) == expected[k] for k in ("views", "resumes", "consultations")):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(STATS_DELAY)
    stop.set()
    await sampler
    after = await monitor.sample()
    rows = await pool.fetch(COMMITS_SQL, fair, live["main"]["id"])
    questions = await pool.fetchval(
        "SELECT count(*) FROM live_questions WHERE fair_id = $1 AND session_id = $2",
        fair, live["main"]["id"],
    )  # fmt: skip
    sampled_peak = await pool.fetchval(
        "SELECT max(peak) FROM live_samples WHERE fair_id = $1 AND session_id = $2",
        fair, live["main"]["id"],
    )  # fmt: skip
    probes = []
    if args.probe_seconds > 0:
        probes = await run_probes(args, stack, ports[0], fair, live, redis, pool, watched)
    beats_stored = await pool.fetchval("SELECT count(*) FROM events WHERE type = 'live_heartbeat'")
    return analyse(cfg, args, {
        "loads": loads, "sent": sent, "expected": expected, "samples": monitor.samples,
        "before": before, "at_end": at_end, "after": after, "final": final, "objects": objects,
        "ended": ended - start, "drained": drain_at - start if drain_at else None,
        "commands": commands,
        "rows": rows, "questions": questions, "sampled_peak": sampled_peak, "pins": pins,
        "probes": probes, "beats_stored": beats_stored,
    })  # fmt: skip


async def redis_objects(redis: Redis, fair: str, session: str) -> dict[str, Any]:
    """Sizes at the end of the load, while every viewer is still in the presence set."""
    viewers, stream = keys.live_viewers(fair, session), keys.stream(fair)
    info: Any = await redis.info("memory")
    commands: Any = await redis.info("commandstats")
    return {
        "commands": commands,
        "presence_members": await redis.zcard(viewers),
        "presence_bytes": await redis.memory_usage(viewers, samples=0),
        "state_bytes": await redis.memory_usage(keys.live_state(fair, session), samples=0),
        "stream_length": await redis.xlen(stream),
        "stream_bytes": await redis.memory_usage(stream, samples=0),
        "used_memory": info["used_memory"],
        "used_memory_peak": info["used_memory_peak"],
        "used_memory_rss": info["used_memory_rss"],
    }


async def run_probes(
    args: argparse.Namespace, stack: Stack, port: int, fair: str, live: dict[str, Any],
    redis: Redis, pool: asyncpg.Pool, watched: dict[str, list[int]],
) -> list[dict[str, Any]]:  # fmt: skip
    """Closed-loop capacity of each presence path, on the second session."""
    session = live["probe"]["id"]
    found = []
    for kind, clients in PROBES.items():
        print(f"probe {kind}: {clients} clients, {args.probe_seconds:g} s ...", flush=True)
        cfg = {"port": port, "fair": fair, "session": session, "token": live["probe"]["host"],
               "kind": kind, "clients": clients, "seconds": args.probe_seconds,
               "run": f"{kind[0]}{kind[-4]}{secrets.token_hex(3)}",
               "watch": {k: v for k, v in watched.items() if k != "loadgen"}}  # fmt: skip
        result = await stack.procs.run_json(f"probe-{kind}", [__file__, "_probe", json.dumps(cfg)])
        ended = time.time()
        if kind.endswith("join"):
            done = await drained(redis, fair)
            result["drain_after_s"] = done - ended if done else None
            span = await pool.fetchrow(
                "SELECT count(*) AS n,"
                " extract(epoch FROM max(pg_xact_commit_timestamp(xmin))"
                "   - min(pg_xact_commit_timestamp(xmin)))::float8 AS seconds"
                " FROM events WHERE fair_id = $1 AND session_id = $2"
                " AND payload ->> 'viewer_id' LIKE $3",
                fair, session, f"p{cfg['run']}-%",
            )  # fmt: skip
            result["worker_events"] = span["n"]
            result["worker_events_per_s"] = span["n"] / span["seconds"] if span["seconds"] else None
        found.append(result)
    return found


# ---------------------------------------------------------------- analysis
def merge(loads: list[dict[str, Any]]) -> dict[str, dict[str, list[int]]]:
    """Every generator's requests, by kind."""
    fields = ("due_ms", "lat_us", "status", "index")
    sent: dict[str, dict[str, list[int]]] = {k: {f: [] for f in fields} for k in KINDS}
    for load in loads:
        for kind in KINDS:
            for f in fields:
                sent[kind][f].extend(load["kinds"][kind][f])
    return sent


def answers(sent: dict[str, dict[str, list[int]]], kind: str) -> Iterator[tuple[int, float]]:
    """(index, seconds after start) of each successful answer of a kind."""
    r, ok = sent[kind], OK_STATUS[KINDS.index(kind)]
    for due, us, status, i in zip(r["due_ms"], r["lat_us"], r["status"], r["index"], strict=True):
        if status == ok:
            yield i, due / 1000 + us / 1e6


def expectations(
    sent: dict[str, dict[str, list[int]]], loads: list[dict[str, Any]]
) -> dict[str, int]:
    """What the host's figures must say, from what was answered."""
    joined = [i for i, _ in answers(sent, "join")]
    return {
        "views": len(joined),
        "unique_viewers": len(set(joined)),
        "resumes": sum(load["accepted"]["resume"] for load in loads),
        "consultations": sum(load["accepted"]["question"] for load in loads),
    }


def nearest(samples: list[dict[str, Any]], t: float) -> dict[str, Any]:
    return min(samples, key=lambda s: abs(s["t"] - t))


def written(a: dict[str, Any], b: dict[str, Any], table: str, column: int) -> int:
    """Rows inserted (column 0) or updated (1) in a table between two samples."""
    return int(b["tables"].get(table, [0, 0])[column] - a["tables"].get(table, [0, 0])[column])


def cpu_between(a: dict[str, Any], b: dict[str, Any]) -> dict[str, float]:
    seconds = max(1e-9, b["t"] - a["t"])
    # max(0, ...): a process that ended (a Postgres backend) takes its CPU time with it
    return {k: max(0.0, 100 * (b["cpu"][k] - a["cpu"][k]) / seconds) for k in a["cpu"]}


Lag = tuple[float, float, float]  # answered (s after start), answer -> commit, stream -> commit


def commit_lags(
    cfg: dict[str, Any], sent: dict[str, dict[str, list[int]]], rows: list[asyncpg.Record]
) -> tuple[dict[str, list[Lag]], dict[str, int]]:
    """Per kind, when each stored event was answered, and how long from its answer and from
    its XADD (the stream entry's id) until the commit that counted it; and how many accepted
    events of each kind are not in Postgres."""
    start = cfg["start"]
    join_answers: dict[int, list[float]] = defaultdict(list)
    for i, at in answers(sent, "join"):
        join_answers[i].append(at)
    batch_answer = dict(answers(sent, "resume"))
    question_answer = dict(answers(sent, "question"))
    join_rows: dict[int, list[tuple[float, float, float]]] = defaultdict(list)
    lags: dict[str, list[Lag]] = {"join": [], "resume": [], "question": []}
    for row in rows:
        committed, worker = row["committed"] - start, row["committed"] - row["added"]
        if row["type"] == "live_join":
            join_rows[int(row["viewer"].partition(".")[0].removeprefix("viewer-"))].append(
                (row["occurred"], committed, worker)
            )
        elif row["type"] == "resume_submitted":
            answered = batch_answer.get(int(row["id"].split("-")[2]))
            if answered is not None:
                lags["resume"].append((answered, committed - answered, worker))
        elif row["type"] == "consultation":
            answered = question_answer.get(int(row["id"].split("-")[2]))
            if answered is not None:
                lags["question"].append((answered, committed - answered, worker))
    for viewer, stored in join_rows.items():
        pairs = zip(sorted(join_answers[viewer]), sorted(stored), strict=False)
        lags["join"].extend((at, committed - at, worker) for at, (_, committed, worker) in pairs)
    accepted = {"join": sum(map(len, join_answers.values())), "resume": 0, "question": 0}
    accepted["resume"] = sum(len(resume_batch(cfg, b)) for b in batch_answer)
    accepted["question"] = len(question_answer)
    missing = {k: accepted[k] - len(lags[k]) for k in lags}
    return lags, missing


def analyse(cfg: dict[str, Any], args: argparse.Namespace, d: dict[str, Any]) -> dict[str, Any]:
    """Everything the report prints and the JSON keeps, from what the run collected."""
    run, join = cfg["run_seconds"], cfg["join_seconds"]
    sent, loads = d["sent"], d["loads"]
    samples = sorted(d["samples"], key=lambda s: s["t"])
    phases = {"joining": (0.0, join), "steady": (join, run), "whole": (0.0, run)}
    sizes = {b: len(resume_batch(cfg, b)) for b in set(sent["resume"]["index"])}

    load: dict[str, Any] = {}
    for kind in KINDS:
        r, ok = sent[kind], OK_STATUS[KINDS.index(kind)]
        rows = list(zip(r["due_ms"], r["lat_us"], r["status"], r["index"], strict=True))
        by_phase = {}
        for phase, (a, b) in phases.items():
            offered = achieved = 0
            latencies = []
            for due, us, status, i in rows:
                weight = sizes[i] if kind == "resume" else 1
                if 1000 * a <= due < 1000 * b:
                    offered += weight
                    latencies.append(us)
                if status == ok and a <= due / 1000 + us / 1e6 < b:
                    achieved += weight
            seconds = max(1e-9, b - a)
            by_phase[phase] = {"offered_per_s": offered / seconds,
                               "achieved_per_s": achieved / seconds,
                               "latency_ms": percentiles(latencies, 1e-3)}  # fmt: skip
        late = [load_["kinds"][kind]["late_ms"] for load_ in loads]
        load[kind] = {
            "requests": len(rows),
            "ok": sum(1 for row in rows if row[2] == ok),
            "events": sum(sizes[row[3]] for row in rows) if kind == "resume" else len(rows),
            "phases": by_phase,
            "late_ms": {
                k: max((x[k] for x in late if x[k] is not None), default=None)
                for k in ("p50", "p99", "max")
            },
        }

    lags, missing = commit_lags(cfg, sent, d["rows"])
    lag = {
        k: {"events": len(v), "answer_to_commit": percentiles([x[1] for x in v], 1000),
            "stream_to_commit": percentiles([x[2] for x in v], 1000)}
        for k, v in lags.items()
    }  # fmt: skip
    queue = [s for s in samples if 0 <= s["t"] <= (d["drained"] or d["ended"])]
    worker = {
        "commit_lag_ms": lag,
        "accepted_not_stored": missing,
        "max_stream_lag": max((s["lag"] or 0 for s in queue), default=0),
        "max_pending": max((s["pending"] or 0 for s in queue), default=0),
        "drained_after_load_s": d["drained"] - d["ended"] if d["drained"] else None,
        "last_answer_after_schedule_s": d["ended"] - run,
    }

    # Timeline, one row per `every` seconds.
    every = args.row_seconds or max(5.0, round(run / 12))
    buckets = math.ceil(run / every)
    rates = {k: [0] * buckets for k in ("join", "beat")}
    for kind in rates:
        for _, at in answers(sent, kind):
            if 0 <= at < run:
                rates[kind][int(at // every)] += 1
    presence_lat: list[list[int]] = [[] for _ in range(buckets)]
    for kind in ("join", "beat"):
        r = sent[kind]
        for due, us in zip(r["due_ms"], r["lat_us"], strict=True):
            if due < 1000 * run:
                presence_lat[int(due / 1000 // every)].append(us)
    join_lag: list[list[float]] = [[] for _ in range(buckets)]
    for at, _, x in lags["join"]:
        if 0 <= at < run:
            join_lag[int(at // every)].append(x)
    timeline = []
    for k in range(buckets):
        a, b = k * every, min(run, (k + 1) * every)
        inside = [s for s in samples if a <= s["t"] < b] or [nearest(samples, b)]
        s0, s1 = nearest(samples, a), nearest(samples, b)
        seconds = max(1e-9, s1["t"] - s0["t"])
        figures = next((s["figures"] for s in reversed(inside) if s["figures"]), None) or {}
        timeline.append({
            "from_s": a, "to_s": b,
            "joins_per_s": rates["join"][k] / (b - a), "beats_per_s": rates["beat"][k] / (b - a),
            "presence_ms": percentiles(presence_lat[k], 1e-3),
            "join_stream_to_commit_p99_ms": percentiles(join_lag[k], 1000)["p99"],
            "stream_lag": max(s["lag"] or 0 for s in inside),
            "pending": max(s["pending"] or 0 for s in inside),
            "viewers_now": figures.get("viewers_now"), "views": figures.get("views"),
            "presence_set": inside[-1]["presence"], "used_memory": inside[-1]["used_memory"],
            "stream_length": max(s["stream_length"] for s in inside),
            "events_rows_per_s": written(s0, s1, "events", 0) / seconds,
            "counters_updates_per_s": written(s0, s1, "counters", 1) / seconds,
            "uniques_rows_per_s": written(s0, s1, "uniques", 0) / seconds,
            "cpu_percent": cpu_between(s0, s1),
            "document_ms": max(s["document_ms"] for s in inside),
        })  # fmt: skip

    # Postgres rows, before the load to after the drain.
    before, after = d["before"]["tables"], d["after"]["tables"]
    minutes = run / 60
    postgres = {}
    for table in sorted(set(after) | set(TABLES)):
        t0, t1 = before.get(table, [0, 0]), after.get(table, [0, 0])
        inserted, updated = t1[0] - t0[0], t1[1] - t0[1]
        by_minute = []
        for m in range(math.ceil(minutes)):
            m0 = nearest(samples, 60 * m)["tables"].get(table, [0, 0])
            m1 = nearest(samples, min(run, 60 * (m + 1)))["tables"].get(table, [0, 0])
            by_minute.append(m1[0] - m0[0] + m1[1] - m0[1])
        if any(by_minute) or table in TABLES:  # not the setup's rows, reported late
            postgres[table] = {"inserted": inserted, "updated": updated,
                               "inserted_per_min": inserted / minutes,
                               "updated_per_min": updated / minutes,
                               "written_by_minute": by_minute}  # fmt: skip

    # CPU per phase; the generators measured their own.
    cpu = {}
    for phase, (a, b) in phases.items():
        percent = cpu_between(nearest(samples, a), nearest(samples, b))
        gen = sum(load_["cpu_seconds"][p] for load_ in loads
                  for p in (["joining", "steady"] if phase == "whole" else [phase]))  # fmt: skip
        percent["loadgen"] = 100 * gen / max(1e-9, b - a)
        machine = percent.pop("machine")
        percent["other"] = max(0.0, machine - sum(percent.values()))
        cpu[phase] = percent
    presence_ok = sum(load[k]["ok"] for k in ("join", "beat"))
    whole = nearest(samples, run)["cpu"]["gateway"] - nearest(samples, 0)["cpu"]["gateway"]
    gateway_us = 1e6 * whole / max(1, sum(load[k]["ok"] for k in KINDS))

    # Redis.
    o = d["objects"]
    during = [s["used_memory"] for s in samples if 0 <= s["t"] <= d["ended"]]
    redis = {
        "used_memory_before": d["before"]["used_memory"],
        "used_memory_max_sampled": max(during, default=None),
        "used_memory_end_of_load": o["used_memory"],
        "used_memory_after_drain": d["after"]["used_memory"],
        "used_memory_peak": o["used_memory_peak"],
        "used_memory_rss_end_of_load": o["used_memory_rss"],
        "presence_members": o["presence_members"],
        "presence_bytes": o["presence_bytes"],
        "presence_bytes_per_viewer": o["presence_bytes"] / max(1, o["presence_members"]),
        "state_bytes": o["state_bytes"],
        "stream_length_end_of_load": o["stream_length"],
        "stream_bytes_end_of_load": o["stream_bytes"],
        "keys_before": d["before"]["keys"],
        "keys_added": d["at_end"]["keys"] - d["before"]["keys"],
        "bytes_per_key_added": (
            o["used_memory"]
            - d["before"]["used_memory"]
            - o["presence_bytes"]
            - (o["stream_bytes"] or 0)
        )
        / max(1, d["at_end"]["keys"] - d["before"]["keys"]),
    }

    # Redis' own time per command during the load, and what the AOF (fsync always) took in.
    spent = []
    for name, now in o["commands"].items():
        then = d["commands"].get(name, {"calls": 0, "usec": 0})
        calls, usec = now["calls"] - then["calls"], now["usec"] - then["usec"]
        if calls:
            spent.append({"command": name.removeprefix("cmdstat_"), "calls": calls,
                          "usec": usec, "usec_per_call": usec / calls})  # fmt: skip
    spent.sort(key=lambda c: -c["usec"])
    redis["commands"] = spent[:8]
    load_samples = [s for s in samples if 0 <= s["t"] <= d["ended"] + 1]
    redis["aof_bytes_during_load"] = sum(
        max(0, b["aof_size"] - a["aof_size"])
        for a, b in zip([d["before"], *load_samples], load_samples, strict=False)
    )
    redis["aof_rewrites_during_load"] = (
        load_samples[-1]["aof_rewrites"] - d["before"]["aof_rewrites"]
    )
    redis["max_stream_length"] = max((s["stream_length"] for s in load_samples), default=0)

    # Exactness.
    # Viewers now: Redis stamps a sign of life between its due time and its answer, and
    # counts at some instant of the document's read; a viewer whose last sign was due inside
    # the window is surely counted, one whose last answer came before it surely not. When the
    # gateway keeps up, the two bounds meet.
    window, read = cfg["presence_seconds"], d["at_end"]
    last: dict[int, float] = {}
    last_due: dict[int, float] = {}
    for kind in ("join", "beat"):
        r, ok = sent[kind], OK_STATUS[KINDS.index(kind)]
        for due, us, status, i in zip(
            r["due_ms"], r["lat_us"], r["status"], r["index"], strict=True
        ):
            if status == ok:
                last[i] = max(due / 1000 + us / 1e6, last.get(i, 0.0))
                last_due[i] = max(due / 1000, last_due.get(i, 0.0))
    surely = sum(
        1 for t in last_due.values() if t >= read["t"] + read["document_ms"] / 1000 - window
    )
    maybe = sum(1 for t in last.values() if t >= read["t"] - window)
    exp = d["expected"]
    final = (d["final"] or d["after"])["figures"] or {}
    end_fig = d["at_end"]["figures"] or {}
    kinds_stored = Counter(row["type"] for row in d["rows"])
    by_employer, by_pin = final.get("by_employer", []), final.get("by_pin", [])
    checks = [
        ("résumés accepted = --resumes", args.resumes, exp["resumes"]),
        ("questions accepted = --consultations", args.consultations, exp["consultations"]),
        ("views = joins answered", exp["views"], final.get("views")),
        ("unique viewers = distinct viewers joined", exp["unique_viewers"],
         final.get("unique_viewers")),
        ("viewers now (end of load) = still beating", (surely, maybe),
         end_fig.get("viewers_now")),
        ("peak = viewers (all of them beating)", len(last), final.get("peak")),
        ("sampled peak (live_samples) = viewers", len(last), d["sampled_peak"]),
        ("résumés = accepted", exp["resumes"], final.get("resumes")),
        ("consultations = accepted", exp["consultations"], final.get("consultations")),
        ("résumés by employer, summed", exp["resumes"], sum(e["resumes"] for e in by_employer)),
        ("consultations by employer, summed", exp["consultations"],
         sum(e["consultations"] for e in by_employer)),
        ("résumés by pin, summed", exp["resumes"], sum(p["resumes"] for p in by_pin)),
        ("views by pin, summed", exp["views"], sum(p["views"] for p in by_pin)),
        ("live_join rows = views", exp["views"], kinds_stored["live_join"]),
        ("resume_submitted rows = résumés", exp["resumes"], kinds_stored["resume_submitted"]),
        ("consultation rows = questions", exp["consultations"], kinds_stored["consultation"]),
        ("live_questions rows = questions", exp["consultations"], d["questions"]),
        ("heartbeat rows, any session = 0", 0, d["beats_stored"]),
        ("failed requests = 0", 0, sum(load_["errors"] for load_ in loads)),
    ]  # fmt: skip
    exactness = [
        {"check": name, "expected": want, "got": got,
         "ok": want[0] <= got <= want[1] if isinstance(want, tuple) and got is not None
         else want == got}
        for name, want, got in checks
    ]  # fmt: skip
    steady = {k: load[k]["phases"]["steady"] for k in ("join", "beat")}
    offered = sum(p["offered_per_s"] for p in steady.values())
    achieved = sum(p["achieved_per_s"] for p in steady.values())
    return {
        "load": load,
        "presence_requests_ok": presence_ok,
        "steady_presence_offered_per_s": offered,
        "steady_presence_achieved_per_s": achieved,
        "gateway_cpu_us_per_request": gateway_us,
        "worker": worker,
        "timeline": timeline,
        "postgres": postgres,
        "redis": redis,
        "cpu_percent": cpu,
        "exactness": exactness,
        "exact": all(c["ok"] for c in exactness),
        "figures_end_of_load": {k: v for k, v in end_fig.items() if not isinstance(v, list)},
        "figures_final": final,
        "pins": {"count": len(d["pins"]), "ms": percentiles([x for _, x in d["pins"]], 1000)},
        "probes": d["probes"],
        "load_errors": [load_["error_kinds"] for load_ in loads],
    }


# ---------------------------------------------------------------- report
def num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def report(args: argparse.Namespace, r: dict[str, Any]) -> None:
    load = r["load"]
    print(f"\n{'kind':<9}{'phase':<9}{'offered/s':>11}{'achieved/s':>12}{'p50 ms':>9}"
          f"{'p99 ms':>9}{'max ms':>9}   requests, failed, sent late p99/max ms")  # fmt: skip
    for kind in KINDS:
        k = load[kind]
        for phase, p in k["phases"].items():
            lat = p["latency_ms"]
            tail = ""
            if phase == "whole":
                late = k["late_ms"]
                tail = (f"   {k['requests']:,}, {k['requests'] - k['ok']:,}, "
                        f"{num(late['p99'])}/{num(late['max'])}")  # fmt: skip
            print(
                f"{kind:<9}{phase:<9}{p['offered_per_s']:>11,.1f}{p['achieved_per_s']:>12,.1f}"
                f"{num(lat['p50']):>9}{num(lat['p99']):>9}{num(lat['max']):>9}{tail}"
            )
    print("(résumés in events, one batch a second; latency from the scheduled time)")
    for kinds in r["load_errors"]:
        for what, n in kinds.items():
            print(f"    {n} x {what}")
    print(
        f"steady presence: {r['steady_presence_achieved_per_s']:,.0f} of "
        f"{r['steady_presence_offered_per_s']:,.0f} requests/s offered; gateway CPU "
        f"{r['gateway_cpu_us_per_request']:,.0f} µs per request over the run"
    )

    print(f"\n{'seconds':<10}{'joins/s':>8}{'beats/s':>8}{'presence p50/p99':>18}"
          f"{'wk p99':>8}{'lag':>6}{'pend':>6}{'viewers':>9}{'Redis MB':>9}{'ev rows/s':>10}"
          f"{'ctr upd/s':>10}   cpu % gw wk pg rd")  # fmt: skip
    for row in r["timeline"]:
        c, p = row["cpu_percent"], row["presence_ms"]
        print(
            f"{row['from_s']:>4.0f}-{row['to_s']:<5.0f}{row['joins_per_s']:>8,.0f}"
            f"{row['beats_per_s']:>8,.0f}{num(p['p50'], 0) + ' / ' + num(p['p99'], 0):>18}"
            f"{num(row['join_stream_to_commit_p99_ms'], 0):>8}{row['stream_lag']:>6,}"
            f"{row['pending']:>6,}"
            f"{row['viewers_now'] or 0:>9,}{row['used_memory'] / 2**20:>9,.1f}"
            f"{row['events_rows_per_s']:>10,.0f}{row['counters_updates_per_s']:>10,.0f}   "
            f"{c['gateway']:.0f} {c['worker']:.0f} {c['postgres']:.0f} {c['redis']:.0f}"
        )

    print(
        "(presence: joins and beats due in the row, ms from due to answer; wk p99: joins "
        "answered in the row, ms from XADD to commit; lag, pend: the stream at most)"
    )
    w = r["worker"]
    print(f"\n{'until counted, ms':<18}{'events':>9}   {'XADD -> commit p50/p99/max':<30}"
          f"{'answer -> commit p50/p99/max':<32}not stored")  # fmt: skip
    for kind, s in w["commit_lag_ms"].items():
        x, a = s["stream_to_commit"], s["answer_to_commit"]
        print(f"{kind:<18}{s['events']:>9,}   "
              f"{' / '.join(num(x[k]) for k in ('p50', 'p99', 'max')):<30}"
              f"{' / '.join(num(a[k]) for k in ('p50', 'p99', 'max')):<32}"
              f"{w['accepted_not_stored'][kind]:,}")  # fmt: skip
    print(f"stream: lag at most {w['max_stream_lag']:,} entries, {w['max_pending']:,} pending; "
          f"the last answer came {w['last_answer_after_schedule_s']:.1f} s after the schedule "
          f"ended, the stream drained {num(w['drained_after_load_s'])} s after that")  # fmt: skip

    m = r["redis"]
    mb = 2**20
    print(
        f"\nRedis used_memory: before {m['used_memory_before'] / mb:.1f} MB, at most "
        f"{(m['used_memory_max_sampled'] or 0) / mb:.1f} MB sampled, end of load "
        f"{m['used_memory_end_of_load'] / mb:.1f} MB, after the drain "
        f"{m['used_memory_after_drain'] / mb:.1f} MB (peak {m['used_memory_peak'] / mb:.1f} MB, "
        f"rss {m['used_memory_rss_end_of_load'] / mb:.1f} MB)\n"
        f"presence set: {m['presence_members']:,} viewers, {m['presence_bytes'] / mb:.1f} MB, "
        f"{m['presence_bytes_per_viewer']:.0f} B per viewer; stream at the end of the load "
        f"{m['stream_length_end_of_load']:,} entries "
        f"({(m['stream_bytes_end_of_load'] or 0) / mb:.1f} MB); keys added "
        f"{m['keys_added']:,}; the rest {m['bytes_per_key_added']:.0f} B per key added\n"
        f"stream at most {m['max_stream_length']:,} entries (trimmed when the worker is idle); "
        f"AOF took in {m['aof_bytes_during_load'] / mb:,.1f} MB during the load "
        f"({m['aof_rewrites_during_load']} rewrites)"
    )
    print("Redis time by command during the load: " + "; ".join(
        f"{c['command']} {c['calls']:,} calls, {c['usec_per_call']:.1f} µs each"
        for c in m["commands"][:5]))  # fmt: skip

    print(f"\n{'Postgres table':<16}{'ins/min':>10}{'upd/min':>10}{'inserted':>10}"
          f"{'updated':>10}   written (ins+upd) in each minute")  # fmt: skip
    for table, t in r["postgres"].items():
        print(f"{table:<16}{t['inserted_per_min']:>10,.0f}{t['updated_per_min']:>10,.0f}"
              f"{t['inserted']:>10,}{t['updated']:>10,}   "
              f"{', '.join(f'{n:,}' for n in t['written_by_minute'])}")  # fmt: skip

    print("\ncpu % of one core (2 cores = 200)")
    for phase, c in r["cpu_percent"].items():
        print(f"  {phase:<8} " + " ".join(f"{k} {v:.0f}" for k, v in c.items()))

    print(f"\n{'exactness':<46}{'expected':>14}{'got':>12}   result")
    for c in r["exactness"]:
        got, want = "-" if c["got"] is None else f"{c['got']:,}", c["expected"]
        if isinstance(want, tuple):
            want = f"{want[0]:,}" if want[0] == want[1] else f"{want[0]:,}..{want[1]:,}"
        else:
            want = f"{want:,}"
        print(f"{c['check']:<46}{want:>14}{got:>12}   {'ok' if c['ok'] else 'FAIL'}")

    if r["probes"]:
        print(f"\n{'capacity probe (closed loop)':<30}{'clients':>8}{'req/s':>9}{'events/s':>10}"
              f"{'p50 ms':>8}{'p99 ms':>8}{'err':>5}{'gw µs/ev':>9}   cpu %; worker")  # fmt: skip
        for p in r["probes"]:
            c = p["cpu_percent"]
            tail = ""
            if "worker_events_per_s" in p:
                tail = (f"; {num(p['worker_events_per_s'], 0)} joins/s committed, drained "
                        f"{num(p['drain_after_s'])} s after")  # fmt: skip
            print(f"{p['kind']:<30}{p['clients']:>8}{p['requests_per_s']:>9,.0f}"
                  f"{p['events_per_s']:>10,.0f}{num(p['p50_ms']):>8}{num(p['p99_ms']):>8}"
                  f"{p['errors']:>5}{p['gateway_us_per_event']:>9,.0f}   "
                  + " ".join(f"{k} {v:.0f}" for k, v in c.items()) + tail)  # fmt: skip
    verdict = "exact" if r["exact"] else "NOT exact"
    print(
        f"\nlive: {args.viewers:,} viewers, {r['steady_presence_achieved_per_s']:,.0f} presence "
        f"requests/s steady, beat p99 {num(load['beat']['phases']['whole']['latency_ms']['p99'])}"
        f" ms, join p99 {num(load['join']['phases']['whole']['latency_ms']['p99'])} ms; "
        f"figures {verdict}"
    )


def main() -> None:
    if sys.argv[1:2] in (["_viewers"], ["_probe"]):
        return run_child(sys.argv[1], json.loads(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="5,000 viewers, 20 s of joins, 1 minute (about 1.5 minutes)",
    )
    parser.add_argument("--viewers", type=int, help="default 100,000")
    parser.add_argument("--join-seconds", type=float, help="viewers join over this; default 60")
    parser.add_argument("--beat-seconds", type=float, help="each viewer beats this often; 30")
    parser.add_argument("--minutes", type=float, help="the run, from the first join; default 3")
    parser.add_argument("--resumes", type=int, help="résumés over the run; default 5,000")
    parser.add_argument("--consultations", type=int, help="questions over the run; 2,000")
    parser.add_argument(
        "--rejoin-share",
        type=float,
        default=0.05,
        help="viewers who reload the page once (a second view)",
    )
    parser.add_argument(
        "--pin-seconds", type=float, default=30.0, help="the host pins the next position this often"
    )
    parser.add_argument("--loadgens", type=int, default=1, help="load generator processes")
    parser.add_argument(
        "--gateways", type=int, default=1, help="gateway processes, viewers spread over them"
    )
    parser.add_argument(
        "--connections", type=int, default=256, help="keep-alive connections per load generator"
    )
    parser.add_argument(
        "--probe-seconds",
        type=float,
        help="each capacity probe after the run; 0 skips them; default 10",
    )
    parser.add_argument("--sample-seconds", type=float, default=2.0, help="monitor interval")
    parser.add_argument("--row-seconds", type=float, help="timeline rows (default run/12)")
    args = parser.parse_args()  # fmt: skip
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    counts = (args.viewers, args.resumes, args.consultations, args.loadgens, args.gateways)
    if min(*counts, args.connections) < 1:
        parser.error(
            "--viewers, --resumes, --consultations, --loadgens, --gateways and "
            "--connections are at least 1"
        )
    if not 0 < args.join_seconds <= 60 * args.minutes or args.beat_seconds <= 0:
        parser.error("--join-seconds must be positive and within --minutes; --beat-seconds > 0")
    if not 0 <= args.rejoin_share <= 1 or args.pin_seconds <= 0:
        parser.error("--rejoin-share is within 0..1 and --pin-seconds positive")
    started = datetime.now(UTC)
    inherited = inherited_environment()
    window = Settings().live_presence_seconds
    if args.beat_seconds >= window:
        print(
            f"note: beats every {args.beat_seconds:g} s outlast the {window:g} s presence "
            "window: viewers drop out between beats, and the exactness table will say so"
        )
    try:
        results = asyncio.run(benchmark(args))
    except KeyboardInterrupt:
        sys.exit("interrupted; every process the benchmark started was stopped")
    report(args, results)
    write_results("live", started, {"args": vars(args), "environment": inherited,
                                    "results": results})  # fmt: skip


if __name__ == "__main__":
    main()
