"""Limits on public traffic: nobody can inflate a published figure from one machine.

Real gateway, worker, Redis (one server and a cluster) and Postgres. Client addresses are
simulated with X-Forwarded-For from the test's own address, which is configured as a trusted
proxy; without that setting the header means nothing.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from playwright.async_api import Page
from support import Gateway, WorkerTask, eventually, make_settings, totals

from fairhub import keys, viewer_ids
from fairhub.config import Settings
from fairhub.gateway.app import create_app
from fairhub.limits import client_address, resume_upload_limits

pytest_plugins = ["browser"]  # Chromium fixtures: phone, phone_console
NEW_VIEWERS, NEW_VIEWERS_SECONDS = 100, 10.0  # the defaults: 100 new viewers per 10 s


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        servers[1],
        tmp_path,
        trusted_proxies="127.0.0.1,::1",
        live_questions_per_viewer=3,
        live_questions_per_address=5,
        page_landings_per_address=4,
    )


def sent_from(address: str) -> dict[str, str]:
    """Headers of a request from `address`, through the trusted proxy (the test itself)."""
    return {"X-Forwarded-For": address}


async def _session(gateway: Gateway) -> dict[str, Any]:
    """A fair with one employer and position, and a live session of it, started."""
    fair, organizer = await gateway.create_fair("直播带岗专场")
    employer = await gateway.create(fair, organizer, "employers", name="企业")
    position = await gateway.create(
        fair,
        organizer,
        "positions",
        employer_id=employer["id"],
        title="工程师",
        job_type="研发",
        headcount=2,
    )
    status, session = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/live-sessions",
        organizer,
        json={"title": "春招直播", "employer_ids": [employer["id"]]},
    )
    assert status == 201, session
    path = f"/v1/fairs/{fair}/live-sessions/{session['id']}"
    status, body = await gateway.request("POST", path + "/start", session["host_token"])
    assert status == 200, body
    return {
        "fair": fair,
        "organizer": organizer,
        "employer": employer["id"],
        "position": position["id"],
        "session": session["id"],
        "host": session["host_token"],
        "path": path,
    }


async def _figures(gateway: Gateway, live: dict[str, Any]) -> dict[str, Any]:
    status, document = await gateway.request("GET", live["path"], live["host"])
    assert status == 200, document
    return dict(document["figures"])


async def _new_viewer(
    gateway: Gateway, session: str, address: str, kept: str | None = None
) -> tuple[int, Any, str | None]:
    """POST /live/{session}/viewer from `address`: status, body, Retry-After."""
    body = {} if kept is None else {"viewer_id": kept}
    async with gateway.session.post(
        f"{gateway.base}/live/{session}/viewer", json=body, headers=sent_from(address)
    ) as r:
        return r.status, await r.json(), r.headers.get("Retry-After")


async def _presence(
    gateway: Gateway, session: str, viewer: str, kind: str = "join", address: str = "192.0.2.1"
) -> tuple[int, Any]:
    return await gateway.request(
        "POST",
        f"/live/{session}/presence",
        None,
        json={"viewer_id": viewer, "kind": kind},
        headers=sent_from(address),
    )


async def _throttled(gateway: Gateway, live: dict[str, Any]) -> dict[str, int]:
    status, body = await gateway.request(
        "GET", f"/v1/fairs/{live['fair']}/throttled", live["organizer"]
    )
    assert status == 200, body
    return dict(body["throttled"])


async def test_a_flood_of_new_viewers_from_one_address_is_held_to_its_limit(
    gateway: Gateway,
) -> None:
    live = await _session(gateway)
    session = live["session"]
    flood = "203.0.113.7"
    answers: list[tuple[int, Any, str | None]] = []
    lanes = asyncio.Semaphore(64)

    async def one() -> None:
        async with lanes:
            answers.append(await _new_viewer(gateway, session, flood))

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(2000)))
    elapsed = time.monotonic() - started
    issued = [body["viewer_id"] for status, body, _ in answers if status == 201]
    refused = [(body, wait) for status, body, wait in answers if status == 429]
    assert len(issued) + len(refused) == 2000, {s for s, _, _ in answers}
    # A full bucket, then its refill over the flood's time: nothing more, however fast it asks.
    most = NEW_VIEWERS + math.ceil(elapsed * NEW_VIEWERS / NEW_VIEWERS_SECONDS)
    assert NEW_VIEWERS <= len(issued) <= most, (len(issued), elapsed)
    for body, wait in refused:
        assert body["error"] == "rate_limited" and body["limit"] == "new_viewer", body
        assert wait is not None and 1 <= int(wait) <= NEW_VIEWERS_SECONDS, wait

    # Invented ids are refused outright: only issued ones can join.
    for invented in ("viewer-1", "v" + "A" * 16 + "." + "B" * 22, f"{issued[0]}x"):
        status, body = await _presence(gateway, session, invented, address=flood)
        assert status == 403 and body["fields"] == ["viewer_id"], body
    joins = await asyncio.gather(*(_presence(gateway, session, v, address=flood) for v in issued))
    assert {status for status, _ in joins} == {200}
    assert (await _figures(gateway, live))["viewers_now"] == len(issued)

    # A phone on another network is not held up by the flood.
    status, body, _ = await _new_viewer(gateway, session, "198.51.100.9")
    assert status == 201, body
    status, answer = await _presence(gateway, session, body["viewer_id"], address="198.51.100.9")
    assert status == 200, answer
    assert (await _figures(gateway, live))["viewers_now"] == len(issued) + 1

    # What was refused is counted for the organizer, and in the gateway's metrics.
    assert (await _throttled(gateway, live)).get("new_viewer") == len(refused)
    status, metrics = await gateway.request("GET", "/metrics", None)
    assert status == 200 and 'fairhub_throttled_total{kind="new_viewer"}' in metrics


async def test_the_proxy_header_counts_only_from_a_trusted_proxy(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    settings = make_settings(database_url, servers[1], tmp_path, live_new_viewers_per_address=3)
    async with Gateway.running(settings) as gateway:
        live = await _session(gateway)
        # Without trusted_proxies, each request naming another address is still this machine.
        statuses = [
            (await _new_viewer(gateway, live["session"], f"203.0.113.{n}"))[0] for n in range(5)
        ]
        assert statuses == [201, 201, 201, 429, 429]


async def test_a_returning_viewer_keeps_its_id_and_a_forged_one_is_refused(
    gateway: Gateway, worker: WorkerTask, settings: Settings
) -> None:
    live = await _session(gateway)
    session, fair = live["session"], live["fair"]
    status, body, _ = await _new_viewer(gateway, session, "192.0.2.10")
    assert status == 201 and body["issued"] is True, body
    viewer = body["viewer_id"]
    # Checking a kept id again and again issues nothing and takes nothing from the limit.
    for _ in range(NEW_VIEWERS + 5):
        status, again, _ = await _new_viewer(gateway, session, "192.0.2.10", kept=viewer)
        assert status == 200 and again == {"viewer_id": viewer, "issued": False}, again
    # An old random id (what the page kept before ids were signed) is replaced.
    status, fresh, _ = await _new_viewer(gateway, session, "192.0.2.10", kept="0b6c0f0e-uuid")
    assert status == 201 and fresh["viewer_id"] != "0b6c0f0e-uuid", fresh

    # Another fair's genuine id, a signature made with another key, a nonce swapped: refused.
    other = await _session(gateway)
    status, theirs, _ = await _new_viewer(gateway, other["session"], "192.0.2.10")
    assert status == 201, theirs
    key = viewer_ids.key_of(settings)
    forged = [
        theirs["viewer_id"],
        viewer_ids.sign(b"not the server's key", fair, "vAAAAAAAAAAAAAAAA"),
        "vBBBBBBBBBBBBBBBB." + viewer.rpartition(".")[2],
    ]
    assert all(not viewer_ids.genuine(key, fair, f) for f in forged)
    for bad in forged:
        status, answer = await _presence(gateway, session, bad)
        assert status == 403 and answer["fields"] == ["viewer_id"], answer
        status, answer = await gateway.request(
            "POST",
            f"/live/{session}/questions",
            None,
            json={"id": f"q-{bad[:8]}-0001", "viewer_id": bad, "employer_id": live["employer"],
                  "question": "有培训吗"},
        )  # fmt: skip
        assert status == 403 and answer["fields"] == ["viewer_id"], answer
    status, answer = await _presence(gateway, session, viewer)
    assert status == 200, answer
    assert (await _figures(gateway, live))["viewers_now"] == 1

    async def one_view() -> bool:
        return bool((await _figures(gateway, live))["views"] == 1)

    await eventually(one_view)


async def test_the_viewer_page_replaces_an_old_unsigned_id_and_keeps_a_signed_one(
    gateway: Gateway, worker: WorkerTask, phone: Page, settings: Settings
) -> None:
    live = await _session(gateway)
    old = "0b6c0f0e-2d8e-4c1a-9a51-3f1f2c9d7e11"  # what the page kept before ids were signed
    await phone.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        f"localStorage.setItem('fairhub.live.viewer', '{old}');"
        "sessionStorage.setItem('seeded', '1'); }"
    )
    await phone.goto(f"{gateway.base}/live/{live['session']}")

    async def kept() -> str:
        return str(await phone.evaluate("localStorage.getItem('fairhub.live.viewer')") or "")

    async def replaced() -> bool:
        return (await kept()) not in ("", old)

    await eventually(replaced, timeout=10)
    viewer = await kept()
    assert viewer_ids.genuine(viewer_ids.key_of(settings), live["fair"], viewer), viewer

    async def watching() -> bool:
        return bool((await _figures(gateway, live))["viewers_now"] == 1)

    await eventually(watching, timeout=10)
    # Back on the page: the kept id is checked, found genuine and kept (one viewer still).
    await phone.reload()
    await phone.wait_for_function("document.querySelector('#title').textContent === '春招直播'")

    async def two_views() -> bool:
        return bool((await _figures(gateway, live))["views"] == 2)

    await eventually(two_views, timeout=10)
    assert await kept() == viewer
    assert (await _figures(gateway, live))["unique_viewers"] == 1


async def test_joins_and_questions_past_their_limits_are_refused_and_not_counted(
    gateway: Gateway, worker: WorkerTask, settings: Settings
) -> None:
    live = await _session(gateway)
    session = live["session"]
    viewers = []
    for n in range(3):
        status, body, _ = await _new_viewer(gateway, session, f"192.0.2.{20 + n}")
        assert status == 201, body
        viewers.append(body["viewer_id"])

    async def ask(viewer: str, n: int, address: str) -> tuple[int, Any, str | None]:
        async with gateway.session.post(
            f"{gateway.base}/live/{session}/questions",
            json={"id": f"q-{viewer[:10]}-{n:04d}", "viewer_id": viewer,
                  "employer_id": live["employer"], "question": f"问题{n}"},
            headers=sent_from(address),
        ) as r:  # fmt: skip
            return r.status, await r.json(), r.headers.get("Retry-After")

    # Per viewer: 3 questions at once, the 4th waits (Retry-After within the refill time).
    got = [await ask(viewers[0], n, "192.0.2.20") for n in range(4)]
    assert [s for s, _, _ in got] == [202, 202, 202, 429], got
    assert got[3][1]["limit"] == "question" and 1 <= int(got[3][2] or 0) <= 60
    # Per address: 5 questions, whoever asks; another address is not held up.
    got = [await ask(viewers[1], n, "192.0.2.20") for n in range(3)]
    assert [s for s, _, _ in got] == [202, 202, 429], got
    status, body, _ = await ask(viewers[2], 0, "192.0.2.30")
    assert status == 202, body

    # Joins: a viewer reloading in a loop is one viewer and a bounded number of views.
    joins = [(await _presence(gateway, session, viewers[0]))[0] for _ in range(25)]
    allowed = settings.live_joins_per_viewer
    assert joins == [200] * allowed + [429] * (25 - allowed), joins

    async def counted() -> bool:
        f = await _figures(gateway, live)
        return bool(f["consultations"] == 6 and f["views"] == allowed)

    await eventually(counted)
    assert await _throttled(gateway, live) == {"question": 2, "live_join": 25 - allowed}


async def test_a_refused_try_succeeds_after_its_retry_after(
    database_url: str, servers: tuple[str, str], tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, servers[1], tmp_path, live_new_viewers_per_address=2,
        live_new_viewers_seconds=6,
    )  # fmt: skip
    async with Gateway.running(settings) as gateway:
        live = await _session(gateway)
        wait = None
        for _ in range(10):  # 2 at once, then one per 3 s: a refusal comes at once
            status, _, wait = await _new_viewer(gateway, live["session"], "192.0.2.50")
            if status == 429:
                break
        assert wait is not None and 1 <= int(wait) <= 3, wait
        await asyncio.sleep(int(wait))  # the bucket has refilled at least one token
        status, body, _ = await _new_viewer(gateway, live["session"], "192.0.2.50")
        assert status == 201, body


async def test_page_landings_past_the_limit_are_not_counted(
    gateway: Gateway, worker: WorkerTask
) -> None:
    live = await _session(gateway)
    fair, organizer = live["fair"], live["organizer"]
    page = f"/p/{fair}/employers/{live['employer']}"
    # Landings past the address's limit (4 here) are not counted: 429 with Retry-After, yet
    # the phone page is still shown (a person behind a busy NAT still sees the booth).
    for n in range(6):
        async with gateway.session.get(gateway.base + page, headers=sent_from("192.0.2.40")) as r:
            assert r.status == (200 if n < 4 else 429) and "企业" in await r.text(), n
            assert n < 4 or 1 <= int(r.headers["Retry-After"]) <= 60
    # The page's JSON says so: 429 with Retry-After.
    async with gateway.session.get(
        gateway.base + page + ".json", headers=sent_from("192.0.2.40")
    ) as r:
        assert r.status == 429 and 1 <= int(r.headers["Retry-After"]) <= 60
        assert (await r.json())["limit"] == "landing"
    # Another address counts as usual.
    status, _ = await gateway.request("GET", page, None, headers=sent_from("192.0.2.41"))
    assert status == 200

    async def counted() -> bool:
        return totals(await gateway.stats(fair, organizer)).get("qr_scans", (0, 0))[0] == 5

    await eventually(counted)
    await asyncio.sleep(0.5)  # nothing more arrives
    assert totals(await gateway.stats(fair, organizer))["qr_scans"][0] == 5
    assert await _throttled(gateway, live) == {"landing": 3}


async def test_resume_uploads_are_limited_per_seeker(settings: Settings) -> None:
    # The résumé endpoints call limits.check_resume_upload; the buckets are the same.
    runner = web.AppRunner(create_app(settings))
    await runner.setup()
    try:
        limiter = runner.app[keys.LIMITER]
        fair = f"fair-{uuid.uuid4().hex}"
        waits = [
            await limiter.wait(fair, "resume", resume_upload_limits(settings, "seeker-1"))
            for _ in range(settings.resumes_per_seeker + 1)
        ]
        assert waits[:-1] == [None] * settings.resumes_per_seeker
        last = waits[-1]
        assert last is not None and 0 < last <= settings.resumes_seconds
        # Another seeker has a bucket of its own.
        assert await limiter.wait(fair, "resume", resume_upload_limits(settings, "s-2")) is None
        assert await limiter.throttled(fair) == {"resume": 1}
    finally:
        await runner.cleanup()


def test_limit_keys_stay_in_their_fairs_partition() -> None:
    # One script call touches a request's buckets and the fair's throttled count: on a
    # cluster they must share one slot, the fair's.
    for fair in ("fair-a", "fair-b", "3f9c1a52-0000-4000-8000-000000000000"):
        tag = keys.tag(keys.partition(fair))
        for key in (keys.bucket(fair, "new-viewer", "10.0.0.1"), keys.throttled(fair)):
            assert tag in key and key.startswith("fh:" + tag), key


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("127.0.0.1", "203.0.113.5", "203.0.113.5"),  # through the trusted proxy
        ("127.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # a forged hop before ours
        ("127.0.0.1", "203.0.113.5, 10.1.2.3", "203.0.113.5"),  # two proxies of ours
        ("127.0.0.1", "not an address", "127.0.0.1"),  # garbled: the proxy is what we know
        ("127.0.0.1", None, "127.0.0.1"),
        ("198.51.100.1", "203.0.113.5", "198.51.100.1"),  # not a proxy of ours: ignored
    ],
)
def test_the_client_address_trusts_only_configured_proxies(
    tmp_path: Path, peer: str, forwarded: str | None, client: str
) -> None:
    app = web.Application()
    app[keys.SETTINGS] = Settings(data_dir=tmp_path, trusted_proxies="127.0.0.1, 10.0.0.0/8")
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (peer, 40000) if name == "peername" else default
    )
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    request = make_mocked_request("GET", "/", headers=headers, app=app, transport=transport)
    assert client_address(request) == client


def test_a_wrong_trusted_proxy_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an address or network"):
        Settings(data_dir=tmp_path, trusted_proxies="127.0.0.1,proxy.local")
