"""Viewer fan-out benchmark: how soon a host's pin reaches every open viewer page of one gateway.

Why: a livestream's viewer pages hold GET /live/{session}/events open (Server-Sent Events), and
the promise is that a position the host pins shows on every open page within 2 s. The gateway
reads the session once per change and writes the same frame to every connection
(fairhub/gateway/fanout.py), so what grows with the audience is the writing: only a crowd of
real connections on one gateway process can say how long the last viewer waits.

What runs (all local, loopback only): embedded Postgres and Redis, ONE `python -m fairhub
serve`, and --clients viewer processes (spawned here) that between them open --viewers streams
at --rate connections/s. The issue asks for 20,000 viewers on one gateway, but each viewer is a
socket, and the hard per-process open-file limit (RLIMIT_NOFILE, printed) caps one process at
that many files: the default, 19,500, leaves room for the gateway's own (Postgres, Redis).

One run, three phases:
  baseline  one viewer alone, --pins pins --spacing s apart: the latency without a crowd.
  connect   --viewers streams; a viewer is established at its first `session` event. Gateway
            RSS and open files before and after.
  pins      all idle, the host PUTs a new pin every --spacing s, cycling over --positions
            positions (so an old frame cannot pass for a new pin). t0 is CLOCK_MONOTONIC just
            before each PUT (one clock for every process of the host); each viewer stamps the
            arrival of its first `session` event pinning that position. Latency = arrival - t0;
            a viewer without it --miss s later missed it (infinitely late in percentiles).

Target: p99 over every (viewer, pin) <= 2 s. The exit status is 0 unless the run broke.
Results: a table on stdout and benchmarks/results/viewers-<UTC>.json.

    python benchmarks/viewers.py [--viewers 19500] [--pins 10] [--clients 3] [--rate 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import math
import multiprocessing
import os
import resource
import sys
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import aiohttp
import psutil
from common import (
    busy_seconds,
    cpu_seconds,
    create_fairs,
    inherited_environment,
    local_stack,
    wait_ready,
    write_results,
)

from fairhub.embedded import free_port

TARGET_SECONDS = 2.0
CONNECT_TIMEOUT = 10.0  # TCP connect; the answer may take longer while the gateway is busy
LATE_SECONDS = 60.0  # a viewer without its first event this long after its slot: late


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard one (children inherit it); the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard if hard != resource.RLIM_INFINITY else 2**31


def receive(pipe: Connection, seconds: float) -> Any:
    """The next message from the other end, in a thread; a child's traceback is raised here."""

    def wait() -> Any:
        if not pipe.poll(seconds):
            raise TimeoutError(f"no message in {seconds:.0f} s")
        message = pipe.recv()
        if message[0] == "error":
            raise RuntimeError(f"viewer process failed:\n{message[1]}")
        return message

    return asyncio.to_thread(wait)


async def until(done: Callable[[], bool], deadline: float, step: float) -> None:
    """Poll `done` every `step` s until it holds or CLOCK_MONOTONIC reaches `deadline`."""
    while time.monotonic() < deadline:
        if done():
            return
        await asyncio.sleep(step)


# ---------------------------------------------------------------- child: viewer pages
class Viewer:
    """One page: the pins it saw, as (arrival, position index) each time the pin changed."""

    __slots__ = ("changes", "open", "pinned")

    def __init__(self) -> None:
        self.changes: list[tuple[float, int]] = []
        self.pinned = -2  # -2 nothing yet, -1 nothing pinned, else an index of cfg["positions"]
        self.open = False


def pinned_of(data: bytes, index: dict[bytes, int]) -> int:
    """The pinned position in a view's JSON without parsing it all: `pinned` is null or a
    position whose first key is `id` (checked against json.loads on every viewer's first)."""
    at = data.find(b'"pinned":') + 9
    if data.startswith(b"null", at):
        return -1
    start = data.find(b'"id":"', at) + 6
    return index.get(data[start : data.find(b'"', start)], -3)


async def watch(http: aiohttp.ClientSession, url: str, viewer: Viewer, index: dict[bytes, int],
                errors: Counter[str]) -> None:  # fmt: skip
    """Read one stream to its end, frame by frame; keep only the pin changes."""
    try:
        async with http.get(url, headers={"Accept": "text/event-stream"}) as resp:
            if resp.status != 200:
                body = (await resp.read()).decode(errors="replace")
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    body = json.loads(body)["error"]  # the gateway's error code
                errors[f"HTTP {resp.status} {body[:40]}"] += 1
                return
            viewer.open, buffer = True, b""
            async for chunk in resp.content.iter_any():
                now = time.monotonic()
                buffer += chunk
                while (end := buffer.find(b"\n\n")) >= 0:
                    event, buffer = buffer[:end], buffer[end + 2 :]
                    if b"event: session\n" not in event:
                        continue  # retry:, : keep-alive
                    data = event[event.index(b"data: ") + 6 :]
                    pinned = pinned_of(data, index)
                    if viewer.pinned == -2:  # the first: check the cheap reading against JSON
                        view = json.loads(data)["pinned"]
                        if pinned != (-1 if view is None else index.get(view["id"].encode())):
                            raise ValueError(f"pinned_of misread {data[:300]!r}")
                    if pinned != viewer.pinned:
                        viewer.changes.append((now, pinned))
                        viewer.pinned = pinned
        errors["stream ended"] += 1
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        errors[type(exc).__name__] += 1
    except ValueError as exc:  # the cheap reading is wrong: no figure of this run can be trusted
        errors[str(exc)[:200]] += 1
    finally:
        viewer.open = False


async def crowd(pipe: Connection, cfg: dict[str, Any]) -> None:
    """Open this process's share of viewers on schedule, then answer the parent's calls."""
    index = {p.encode(): i for i, p in enumerate(cfg["positions"])}
    slots: list[float] = cfg["slots"]
    viewers = [Viewer() for _ in slots]
    errors: Counter[str] = Counter()
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT, sock_read=None)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        pipe.send(("ready",))
        _, start = await receive(pipe, 120)
        tasks = []
        for viewer, slot in zip(viewers, slots, strict=True):
            await asyncio.sleep(start + slot - time.monotonic())
            tasks.append(asyncio.create_task(watch(http, cfg["url"], viewer, index, errors)))
        pending = list(zip(viewers, tasks, strict=True))
        deadline = start + slots[-1] + LATE_SECONDS
        await until(lambda: all(v.changes or t.done() for v, t in pending), deadline, 0.1)
        up = [v for v in viewers if v.changes]
        gc.collect()
        gc.freeze()  # the connections stay: no collection need walk them again while we measure
        waits = [v.changes[0][0] - start - s for v, s in zip(viewers, slots, strict=True)
                 if v.changes]  # fmt: skip
        late = sum(not v.changes and not t.done() for v, t in pending)
        ramp = max((v.changes[0][0] - start for v in up), default=0.0)
        pipe.send(("connected", {"established": len(up), "late": late, "waits": waits,
                                 "errors": dict(errors), "last": ramp}))  # fmt: skip
        _, pins, miss = await receive(pipe, 3600)
        t_last, last = pins[-1]
        await until(lambda: all(v.pinned == last or not v.open for v in up), t_last + miss, 0.05)
        per_pin: list[tuple[list[float], int]] = []
        for t, idx in pins:
            got = [next((a - t for a, p in v.changes if p == idx and t <= a <= t + miss), -1.0)
                   for v in up]  # fmt: skip
            per_pin.append(([x for x in got if x >= 0], sum(x < 0 for x in got)))
        rss = psutil.Process().memory_info().rss
        pipe.send(("results", {"per_pin": per_pin, "dropped": sum(not v.open for v in up),
                               "errors": dict(errors), "rss": rss}))  # fmt: skip
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def viewer_process(pipe: Connection, cfg: dict[str, Any]) -> None:
    raise_fd_limit()
    try:
        asyncio.run(crowd(pipe, cfg))
    except Exception:
        with contextlib.suppress(OSError):
            pipe.send(("error", traceback.format_exc()))


# ---------------------------------------------------------------- parent
async def api(http: aiohttp.ClientSession, method: str, url: str, token: str,
              body: Any = None) -> dict[str, Any]:  # fmt: skip
    headers = {"Authorization": f"Bearer {token}"}
    async with http.request(method, url, json=body, headers=headers) as resp:
        answer = await resp.json()
        if resp.status not in (200, 201):
            raise RuntimeError(f"{method} {url}: HTTP {resp.status} {answer}")
        return dict(answer)


async def prepare(http: aiohttp.ClientSession, base: str, fair: str, organizer: str,
                  positions: int) -> dict[str, Any]:  # fmt: skip
    """One employer with its positions and a started session over them."""
    url = f"{base}/v1/fairs/{fair}"
    employer = await api(http, "POST", f"{url}/employers", organizer, {"name": "直播企业"})
    ids = []
    for k in range(positions):
        body = {"employer_id": employer["id"], "title": f"岗位{k}", "job_type": "研发",
                "headcount": 5}  # fmt: skip
        ids.append((await api(http, "POST", f"{url}/positions", organizer, body))["id"])
    body = {"title": "观众压测", "employer_ids": [employer["id"]]}
    made = await api(http, "POST", f"{url}/live-sessions", organizer, body)
    session_url = f"{url}/live-sessions/{made['id']}"
    await api(http, "POST", f"{session_url}/start", made["host_token"])
    return {"id": made["id"], "host": made["host_token"], "pin_url": f"{session_url}/pin",
            "events_url": f"{base}/live/{made['id']}/events", "positions": ids}  # fmt: skip


def summary(latencies: list[float], missed: int) -> dict[str, Any]:
    """Nearest-rank percentiles in ms; a missed receipt is infinitely late (None)."""
    values = sorted(latencies)
    n = len(values) + missed

    def pct(p: float) -> float | None:
        rank = max(1, math.ceil(p * n))
        return 1000 * values[rank - 1] if rank <= len(values) else None

    return {"receipts": len(values), "missed": missed, "p50_ms": pct(0.5),
            "p90_ms": pct(0.9), "p99_ms": pct(0.99), "max_ms": pct(1.0)}  # fmt: skip


async def phase(args: argparse.Namespace, http: aiohttp.ClientSession, base: str,
                live: dict[str, Any], gateway: psutil.Process, count: int, clients: int,
                cycle: Iterator[int]) -> dict[str, Any]:  # fmt: skip
    """`count` viewers over `clients` processes, then --pins pins; everything they saw."""
    ctx = multiprocessing.get_context("spawn")  # no fork of a process with a running loop
    procs, pipes, clients = [], [], min(clients, count)
    try:
        for w in range(clients):
            cfg = {"url": live["events_url"], "positions": live["positions"],
                   "slots": [g / args.rate for g in range(w, count, clients)]}  # fmt: skip
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=viewer_process, args=(theirs, cfg), daemon=True)
            proc.start()
            theirs.close()
            procs.append(proc)
            pipes.append(mine)
        await asyncio.gather(*(receive(p, 120) for p in pipes))
        gateway_fds, gateway_rss = gateway.num_fds(), gateway.memory_info().rss
        start = time.monotonic() + 0.2
        for pipe in pipes:
            pipe.send(("connect", start))
        ramp = count / args.rate + LATE_SECONDS + 30
        connected = [m[1] for m in await asyncio.gather(*(receive(p, ramp) for p in pipes))]
        waits = sorted(w for c in connected for w in c["waits"])
        established = sum(c["established"] for c in connected)
        connect = {
            "established": established, "late": sum(c["late"] for c in connected),
            "seconds": max(c["last"] for c in connected),
            "wait": summary(waits, count - established),
            "errors": dict(sum((Counter(c["errors"]) for c in connected), Counter())),
        }  # fmt: skip
        await asyncio.sleep(args.settle)
        async with http.get(f"{base}/metrics") as resp:  # the gateway's own count, to compare
            streams = [x for x in (await resp.text()).splitlines()
                       if x.startswith("fairhub_viewer_streams ")]  # fmt: skip
        memory = {
            "gateway_rss_before": gateway_rss, "gateway_rss_after": gateway.memory_info().rss,
            "gateway_fds_before": gateway_fds, "gateway_fds_after": gateway.num_fds(),
            "gateway_viewer_streams": float(streams[0].split()[1]) if streams else None,
        }  # fmt: skip
        memory["rss_per_viewer"] = (memory["gateway_rss_after"] - gateway_rss) / max(1, established)
        pids = [p.pid for p in procs if p.pid is not None]
        cpu0 = (cpu_seconds([gateway.pid], False), cpu_seconds(pids, False), busy_seconds())
        began, pins = time.monotonic(), []
        for k in range(args.pins):
            await asyncio.sleep(began + k * args.spacing - time.monotonic())
            idx = next(cycle) % len(live["positions"])
            t = time.monotonic()
            await api(http, "PUT", live["pin_url"], live["host"],
                      {"position_id": live["positions"][idx]})  # fmt: skip
            pins.append((t, idx, time.monotonic() - t))
        for pipe in pipes:
            pipe.send(("pins", [(t, idx) for t, idx, _ in pins], args.miss))
        answers = await asyncio.gather(*(receive(p, args.miss + 120) for p in pipes))
        results = [m[1] for m in answers]
        seconds = time.monotonic() - began
        cpu1 = (cpu_seconds([gateway.pid], False), cpu_seconds(pids, False), busy_seconds())
        load = os.getloadavg()[0]
    finally:
        for pipe in pipes:
            pipe.close()  # a child still waiting for a call ends now
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()
    per_pin, everything, missed = [], list[float](), 0
    for k, (_, _, put) in enumerate(pins):
        got = [x for r in results for x in r["per_pin"][k][0]]
        lost = sum(r["per_pin"][k][1] for r in results)
        per_pin.append({**summary(got, lost), "put_ms": 1000 * put})
        everything += got
        missed += lost
    return {
        "viewers": count, "clients": clients, "connect": connect, "memory": memory,
        "client_rss": sum(r["rss"] for r in results),
        "dropped": sum(r["dropped"] for r in results),
        "stream_errors": dict(sum((Counter(r["errors"]) for r in results), Counter())),
        "pins": per_pin, "latency": summary(everything, missed),
        "put": summary([put for _, _, put in pins], 0),
        "cpu": {"seconds": seconds, "gateway_s": cpu1[0] - cpu0[0],
                "gateway_s_per_pin": (cpu1[0] - cpu0[0]) / max(1, args.pins),
                "clients_s": cpu1[1] - cpu0[1], "load_1min": load,
                "other_s": max(0.0, cpu1[2] - cpu0[2] - (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1]))},
    }  # fmt: skip


async def benchmark(args: argparse.Namespace, fd_limit: int) -> dict[str, Any]:
    async with local_stack() as stack:
        ((fair, organizer),) = await create_fairs(stack.settings, 1)
        port = free_port()
        proc = stack.procs.start("gateway", ["-m", "fairhub", "serve"],
                                 {**stack.server_env, "FAIRHUB_PORT": str(port)})  # fmt: skip
        await wait_ready(stack.procs, proc, "gateway", port)
        gateway, base = psutil.Process(proc.pid), f"http://127.0.0.1:{port}"
        soft = gateway.rlimit(psutil.RLIMIT_NOFILE)[0]
        async with aiohttp.ClientSession() as http:
            live = await prepare(http, base, fair, organizer, args.positions)
            cycle = itertools.count()
            print(f"baseline: 1 viewer, {args.pins} pins {args.spacing:g} s apart ...", flush=True)
            alone = await phase(args, http, base, live, gateway, 1, 1, cycle)
            room = soft - gateway.num_fds()
            print(f"fd limit: {soft:,} open files per process (hard limit {fd_limit:,}, cannot be "
                  f"raised); the gateway has {gateway.num_fds()} open, so it can hold at most "
                  f"{room:,} viewers: 20,000 do not fit in one process here")  # fmt: skip
            if args.viewers > room:
                print(f"WARNING: {args.viewers:,} viewers > {room:,}: expect refused connections")
            print(f"crowd: {args.viewers:,} viewers from {args.clients} processes at "
                  f"{args.rate:,.0f}/s, then {args.pins} pins ...", flush=True)  # fmt: skip
            crowd_ = await phase(args, http, base, live, gateway, args.viewers, args.clients, cycle)
            await api(http, "POST", live["pin_url"].removesuffix("/pin") + "/stop", live["host"])
        if proc.poll() is not None:
            raise RuntimeError(f"the gateway died:\n{stack.procs.tail('gateway')}")
    return {"fd_limit": {"gateway_soft": soft, "hard": fd_limit, "gateway_room": room},
            "baseline": alone, "crowd": crowd_}  # fmt: skip


# ---------------------------------------------------------------- report
def ms(value: float | None) -> str:
    return "missed" if value is None else f"{value:,.0f}"


def report(args: argparse.Namespace, r: dict[str, Any]) -> str:
    c, b = r["crowd"], r["baseline"]
    con, mem = c["connect"], c["memory"]
    mb = 1024 * 1024
    failed, wait = c["viewers"] - con["established"], con["wait"]
    not_up = f" ({failed:,} not, {con['late']:,} of them still waiting)" if failed else ""
    print(f"\nconnect: {con['established']:,} of {c['viewers']:,} viewers established{not_up} "
          f"in {con['seconds']:.1f} s (asked {args.rate:,.0f}/s); first event p50 "
          f"{ms(wait['p50_ms'])} ms, p99 {ms(wait['p99_ms'])} ms after the slot")  # fmt: skip
    for kind, n in con["errors"].items():
        print(f"    {n:,} x {kind}")
    print(f"gateway: RSS {mem['gateway_rss_before'] / mb:,.1f} MB -> "
          f"{mem['gateway_rss_after'] / mb:,.1f} MB ({mem['rss_per_viewer'] / 1024:.1f} KB per "
          f"viewer); open files {mem['gateway_fds_before']:,} -> {mem['gateway_fds_after']:,} "
          f"of {r['fd_limit']['gateway_soft']:,}; /metrics fairhub_viewer_streams "
          f"{mem['gateway_viewer_streams'] or 0:,.0f}")  # fmt: skip
    print(
        f"viewer processes: {c['clients']}, RSS {c['client_rss'] / mb:,.0f} MB in all; "
        f"streams dropped during pins: {c['dropped']:,} {c['stream_errors'] or ''}"
    )
    print(f"\n{'pin -> viewer, ms':<26}{'pins':>6}{'receipts':>11}{'missed':>8}{'p50':>8}"
          f"{'p90':>8}{'p99':>8}{'max':>8}{'PUT p50':>9}{'PUT max':>9}")  # fmt: skip
    for name, p in (("1 viewer (baseline)", b), (f"{con['established']:,} viewers", c)):
        s = p["latency"]
        print(f"{name:<26}{len(p['pins']):>6}{s['receipts']:>11,}{s['missed']:>8,}"
              f"{ms(s['p50_ms']):>8}{ms(s['p90_ms']):>8}{ms(s['p99_ms']):>8}{ms(s['max_ms']):>8}"
              f"{ms(p['put']['p50_ms']):>9}{ms(p['put']['max_ms']):>9}")  # fmt: skip
    print(f"\n{'pin':>4}{'PUT ms':>9}{'p50':>8}{'p99':>8}{'last viewer':>13}{'missed':>8}")
    for k, p in enumerate(c["pins"], 1):
        print(f"{k:>4}{p['put_ms']:>9,.1f}{ms(p['p50_ms']):>8}{ms(p['p99_ms']):>8}"
              f"{ms(p['max_ms']):>13}{p['missed']:>8,}")  # fmt: skip
    cpu = c["cpu"]
    print(f"\npin phase {cpu['seconds']:.1f} s: gateway CPU {cpu['gateway_s']:.2f} s "
          f"({cpu['gateway_s_per_pin']:.3f} s per pin; baseline "
          f"{b['cpu']['gateway_s_per_pin']:.3f} s), viewer processes {cpu['clients_s']:.2f} s, "
          f"rest of the machine (other programs too) {cpu['other_s']:.2f} s; load average "
          f"{cpu['load_1min']:.1f} on {os.cpu_count()} cores")  # fmt: skip
    p99, base99 = c["latency"]["p99_ms"], b["latency"]["p99_ms"]
    if p99 is not None and base99:
        print(f"p99 with {con['established']:,} viewers / p99 with 1 viewer: {p99 / base99:,.1f}")
    verdict = "PASS" if p99 is not None and p99 <= 1000 * TARGET_SECONDS else "FAIL"
    print(f"\n{'target':<44}{'measured':>10}{'bound':>8}   result")
    print(f"{'p99 pin -> every viewer <= 2 s (ms)':<44}{ms(p99):>10}{2000:>8,}   {verdict}")
    if failed:
        print(f"WARNING: {failed:,} of {c['viewers']:,} viewers never got a stream (see above)")
    room = r["fd_limit"]["gateway_room"]
    note = f" (the issue asks for 20,000; the fd limit allows {room:,})"
    print(f"\nviewers: {con['established']:,} on one gateway process: {verdict}{note}")
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=19_500, help="open viewer streams")
    parser.add_argument("--pins", type=int, default=10, help="pin changes to time")
    parser.add_argument("--clients", type=int, default=3, help="viewer processes")
    parser.add_argument("--rate", type=float, default=2000.0, help="new connections per second")
    parser.add_argument("--spacing", type=float, default=2.0, help="seconds between pins")
    parser.add_argument("--miss", type=float, default=10.0, help="a pin not seen by then: missed")
    parser.add_argument("--positions", type=int, default=10, help="positions the pins cycle over")
    parser.add_argument("--settle", type=float, default=2.0, help="idle seconds before pins")
    args = parser.parse_args()
    fd_limit = raise_fd_limit()
    if min(args.viewers, args.pins, args.clients) < 1 or args.rate <= 0 or args.positions < 2:
        parser.error("--viewers, --pins, --clients, --rate must be positive, --positions >= 2")
    if math.ceil(args.viewers / args.clients) + 100 > fd_limit:
        parser.error(f"{fd_limit:,} open files per process: use more --clients")
    started = datetime.now(UTC)
    inherited = inherited_environment()
    try:
        results = asyncio.run(benchmark(args, fd_limit))
    except KeyboardInterrupt:
        sys.exit("interrupted; every process the benchmark started was stopped")
    verdict = report(args, results)
    document = {"args": vars(args), "environment": inherited, "results": results,
                "target_p99_s": TARGET_SECONDS, "verdict": verdict}  # fmt: skip
    write_results("viewers", started, document)


if __name__ == "__main__":
    main()
