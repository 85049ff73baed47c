# ruff: noqa: RUF001
"""Livestream sessions: exact audiences, attribution to the pinned position, scoped host tokens.

Real gateway, real worker, real Redis presence and Postgres: a scripted audience (joins,
beats, silent drop-outs, leaves) must give exact views, unique viewers, viewers now and peak.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from support import Gateway, WorkerTask, eventually, make_settings

from fairhub.config import Settings
from fairhub.live import Mark, Presence
from fairhub.redis import Shards, open_redis

WINDOW = 1.5  # seconds of silence after which a viewer has left (60 in production)


@pytest.fixture
def settings(database_url: str, servers: tuple[str, str], tmp_path: Path) -> Settings:
    return make_settings(
        database_url,
        servers[1],
        tmp_path,
        live_presence_seconds=WINDOW,
        live_sample_seconds=0.2,
        live_new_viewers_per_address=10_000,  # a crowd from one test machine (test_limits)
    )


async def _stream(gateway: Gateway, employers: int = 2) -> dict[str, Any]:
    """A fair with employers (two positions each) and a session over all of them."""
    fair, organizer = await gateway.create_fair("直播带岗专场")
    employer_ids, positions = [], []
    for n in range(employers):
        employer = await gateway.create(fair, organizer, "employers", name=f"企业{n}")
        employer_ids.append(employer["id"])
        for title in ("工程师", "销售"):
            position = await gateway.create(
                fair, organizer, "positions", employer_id=employer["id"],
                title=f"{title}{n}", job_type="研发", headcount=2,
            )  # fmt: skip
            positions.append(position["id"])
    status, session = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/live-sessions",
        organizer,
        json={"title": "春招直播", "employer_ids": employer_ids, "platform": "抖音"},
    )
    assert status == 201, session
    assert [p["id"] for p in session["positions"]] == positions  # all, in order
    return {
        "fair": fair,
        "organizer": organizer,
        "employers": employer_ids,
        "positions": positions,
        "session": session["id"],
        "host": session["host_token"],
        "path": f"/v1/fairs/{fair}/live-sessions/{session['id']}",
    }


_issued: dict[tuple[str, str], str] = {}


async def _viewer(gateway: Gateway, session: str, name: str) -> str:
    """The server-issued viewer id that stands for the test's viewer `name` in this session."""
    if (session, name) not in _issued:
        status, body = await gateway.request("POST", f"/live/{session}/viewer", None, json={})
        assert status == 201, body
        _issued[(session, name)] = body["viewer_id"]
    return _issued[(session, name)]


async def _presence(gateway: Gateway, session: str, viewer: str, kind: str, **extra: str) -> None:
    body = {"viewer_id": await _viewer(gateway, session, viewer), "kind": kind, **extra}
    status, answer = await gateway.request("POST", f"/live/{session}/presence", None, json=body)
    assert status == 200, answer


async def _figures(gateway: Gateway, live: dict[str, Any]) -> dict[str, Any]:
    status, document = await gateway.request("GET", live["path"], live["host"])
    assert status == 200, document
    return dict(document["figures"])


async def test_a_scripted_audience_is_counted_exactly(
    gateway: Gateway, worker: WorkerTask, db: asyncpg.Connection
) -> None:
    live = await _stream(gateway)
    session = live["session"]
    viewers = [f"viewer-{n}" for n in range(10)]
    for viewer in viewers:
        await _presence(gateway, session, viewer, "join", id=f"join-{viewer}-1")
    await _presence(gateway, session, "viewer-0", "join", id="join-viewer-0-1")  # a retry
    figures = await _figures(gateway, live)
    assert (figures["viewers_now"], figures["peak"]) == (10, 10)

    for viewer in ("viewer-8", "viewer-9"):
        await _presence(gateway, session, viewer, "leave")
    assert (await _figures(gateway, live))["viewers_now"] == 8

    # viewer-0..4 keep beating; 5, 6 and 7 vanish without a word.
    for _ in range(3):
        await asyncio.sleep(WINDOW / 2)
        for viewer in viewers[:5]:
            await _presence(gateway, session, viewer, "beat")
    figures = await _figures(gateway, live)
    assert (figures["viewers_now"], figures["peak"]) == (5, 10)

    await _presence(gateway, session, "viewer-1", "join", id="join-viewer-1-2")  # a second view
    for viewer in ("viewer-10", "viewer-11", "viewer-12"):
        await _presence(gateway, session, viewer, "join")
    # Beats through the events API too (a host's integration): presence only, never a row.
    status, body = await gateway.request(
        "POST",
        f"/v1/fairs/{live['fair']}/events",
        live["host"],
        json={"id": f"beat-{uuid.uuid4().hex[:8]}", "type": "live_heartbeat",
              "occurred_at": datetime.now().astimezone().isoformat(),
              "session_id": session, "viewer_id": "viewer-13"},
    )  # fmt: skip
    assert status == 202 and body["results"][0]["status"] == "accepted", body

    async def counted() -> bool:
        figures = await _figures(gateway, live)
        return bool(figures["views"] == 14)

    await eventually(counted)
    figures = await _figures(gateway, live)
    assert figures["unique_viewers"] == 13
    assert (figures["viewers_now"], figures["peak"]) == (9, 10)

    stats = await gateway.stats(live["fair"], live["organizer"])
    [row] = stats["by_session"]
    assert row["session_id"] == session and row["name"] == "春招直播"
    assert row["totals"]["live_views"] == {"total": 14, "unique": 13}
    assert (row["live_concurrent"], row["live_peak"]) == (9, 10)

    kinds = dict(
        await db.fetch(
            "SELECT type, count(*) FROM events WHERE fair_id = $1 GROUP BY type", live["fair"]
        )
    )
    assert kinds == {"live_join": 14, "live_leave": 2}  # not one row per heartbeat

    async def sampled() -> bool:
        peak = await db.fetchval(
            "SELECT max(peak) FROM live_samples WHERE fair_id = $1 AND session_id = $2",
            live["fair"],
            session,
        )
        return bool(peak == 10)

    await eventually(sampled)


async def test_events_count_for_the_position_pinned_when_they_happened(
    gateway: Gateway, worker: WorkerTask
) -> None:
    live = await _stream(gateway)
    first, second = live["positions"][0], live["positions"][2]  # of employer 0 and 1
    emp0, emp1 = live["employers"]
    for position in (first, second):
        status, document = await gateway.request(
            "PUT", live["path"] + "/pin", live["host"], json={"position_id": position}
        )
        assert status == 200 and document["pinned"]["position_id"] == position, document
        await asyncio.sleep(0.05)
    status, document = await gateway.request("DELETE", live["path"] + "/pin", live["host"])
    assert status == 200 and document["pinned"] is None
    pins = document["pins"]
    assert [p["position_id"] for p in pins] == [first, second]
    assert pins[0]["unpinned_at"] == pins[1]["pinned_at"]  # no moment belongs to two pins

    def at(moment: str, shift_ms: int) -> str:
        return (datetime.fromisoformat(moment) + timedelta(milliseconds=shift_ms)).isoformat()

    during_first, during_second = at(pins[0]["pinned_at"], 10), at(pins[1]["pinned_at"], 10)
    before, after = at(pins[0]["pinned_at"], -5000), at(pins[1]["unpinned_at"], 10)
    session, seekers = live["session"], [f"seeker-{n}" for n in range(6)]

    def resume(seeker: str, employer: str, when: str) -> dict[str, Any]:
        return {"id": f"cv-{uuid.uuid4().hex[:10]}", "type": "resume_submitted",
                "occurred_at": when, "seeker_id": seeker, "employer_id": employer,
                "channel": "live", "session_id": session}  # fmt: skip

    events = [
        resume(seekers[0], emp0, before),  # before any pin: the session's, no position's
        resume(seekers[1], emp0, during_first),
        resume(seekers[2], emp1, during_second),
        resume(seekers[3], emp1, after),  # after the unpin
        {"id": f"ask-{uuid.uuid4().hex[:10]}", "type": "consultation", "occurred_at": during_first,
         "employer_id": emp0, "session_id": session, "viewer_id": "viewer-1", "topic": "几点面试?"},
        {"id": f"join-{uuid.uuid4().hex[:10]}", "type": "live_join", "occurred_at": during_second,
         "session_id": session, "viewer_id": "viewer-2"},
    ]  # fmt: skip
    await gateway.post(live["fair"], live["organizer"], events)
    # A phone that was offline uploads late: it lands on the pin of its occurred_at.
    await gateway.post(live["fair"], live["organizer"], [resume(seekers[4], emp1, during_first)])

    async def counted() -> bool:
        return bool((await _figures(gateway, live))["resumes"] == 5)

    await eventually(counted)
    figures = await _figures(gateway, live)
    by_pin = {p["position_id"]: (p["employer_id"], p["views"], p["resumes"], p["consultations"])
              for p in figures["by_pin"]}  # fmt: skip
    assert by_pin == {first: (emp0, 0, 2, 1), second: (emp1, 1, 1, 0)}
    by_employer = {e["employer_id"]: (e["resumes"], e["consultations"])
                   for e in figures["by_employer"]}  # fmt: skip
    assert by_employer == {emp0: (2, 1), emp1: (3, 0)}
    assert figures["consultations"] == 1

    stats = await gateway.stats(live["fair"], live["organizer"])
    [row] = stats["by_session"]
    assert {p["position_id"]: p["totals"]["resumes_submitted"]["total"] for p in row["by_pin"]} == {
        first: 2,
        second: 1,
    }
    assert [p["title"] for p in row["by_pin"]] == sorted(
        ["工程师0", "工程师1"], key=lambda t: [first, second][["工程师0", "工程师1"].index(t)]
    )
    assert stats["resumes_by_channel"]["live"] == 5


async def test_what_a_viewer_chose_counts_for_it_and_the_pin_keeps_what_happened_during_it(
    gateway: Gateway, worker: WorkerTask
) -> None:
    live = await _stream(gateway)
    fair, session, organizer = live["fair"], live["session"], live["organizer"]
    emp0, emp1 = live["employers"]
    pinned, theirs = live["positions"][0], live["positions"][2]  # employer 0's, employer 1's
    await gateway.request("POST", live["path"] + "/start", live["host"])
    await gateway.request("PUT", live["path"] + "/pin", live["host"], json={"position_id": pinned})
    await _presence(gateway, session, "viewer-a", "join", id="join-viewer-a-0001")
    # During the pin, a viewer asks the other employer about its own position, and another
    # asks about the pinned one; one résumé goes to each.
    for n, (employer, position) in enumerate(((emp1, theirs), (emp0, pinned))):
        status, body = await gateway.request(
            "POST", f"/live/{session}/questions", None,
            json={"id": f"question-{n}-{session[:8]}",
                  "viewer_id": await _viewer(gateway, session, f"viewer-{n}"),
                  "employer_id": employer, "position_id": position, "question": "加班多吗？"},
        )  # fmt: skip
        assert status == 202, body
    now = datetime.now().astimezone().isoformat()
    await gateway.post(fair, organizer, [
        {"id": f"cv-{n}-{session[:8]}", "type": "resume_submitted", "occurred_at": now,
         "seeker_id": f"seeker-{n}", "employer_id": employer, "position_id": position,
         "channel": "live", "session_id": session}
        for n, (employer, position) in enumerate(((emp1, theirs), (emp0, pinned)))
    ])  # fmt: skip
    status, body = await gateway.request(
        "POST", f"/live/{session}/questions", None,
        json={"id": "question-x-0000", "viewer_id": "v", "employer_id": emp0,
              "position_id": theirs, "question": "?"},
    )  # fmt: skip
    assert status == 422 and body["fields"] == ["position_id"], body

    async def counted() -> bool:
        f = await _figures(gateway, live)
        return bool(f["resumes"] == 2 and f["consultations"] == 2 and f["views"] == 1)

    await eventually(counted)
    figures = await _figures(gateway, live)
    [pin] = figures["by_pin"]
    assert (pin["position_id"], pin["views"], pin["resumes"], pin["consultations"]) == (
        pinned, 1, 2, 2,
    )  # fmt: skip
    assert (pin["resumes_for_pinned"], pin["consultations_for_pinned"]) == (1, 1)
    by_employer = {e["employer_id"]: (e["resumes"], e["consultations"])
                   for e in figures["by_employer"]}  # fmt: skip
    assert by_employer == {emp0: (1, 1), emp1: (1, 1)}

    stats = await gateway.stats(fair, organizer)
    by_position = {p["position_id"]: p["totals"] for p in stats["by_position"]}
    for position in (pinned, theirs):
        assert by_position[position]["resumes_submitted"]["total"] == 1
        assert by_position[position]["consultations"]["total"] == 1
    [row] = stats["by_session"]
    [pin] = row["by_pin"]
    assert pin["totals"]["consultations"]["total"] == 2
    assert pin["for_pinned"]["consultations"]["total"] == 1
    assert pin["for_pinned"]["resumes_submitted"]["total"] == 1
    status, queue = await gateway.request("GET", live["path"] + "/consultations", live["host"])
    labels = {(q["employer_name"], q["position_title"], q["pinned_title"]) for q in queue["items"]}
    assert labels == {("企业1", "工程师1", "工程师0"), ("企业0", "工程师0", "工程师0")}


async def test_after_the_stop_nobody_watches(gateway: Gateway, settings: Settings) -> None:
    live = await _stream(gateway)
    session = live["session"]
    await gateway.request("POST", live["path"] + "/start", live["host"])
    for n in range(3):
        await _presence(gateway, session, f"viewer-{n}", "join", id=f"join-viewer-{n:04d}")
    assert (await _figures(gateway, live))["viewers_now"] == 3
    status, document = await gateway.request("POST", live["path"] + "/stop", live["host"])
    assert status == 200 and document["status"] == "ended"
    assert document["figures"]["viewers_now"] == 0 and document["figures"]["peak"] == 3
    # Another gateway that has not heard of the end yet records a beat: it counts for nobody.
    async with open_redis(settings) as redis:
        shards = Shards(redis, settings)
        stale = Presence(shards, settings.live_presence_seconds)
        after = await stale.record(live["fair"], [Mark(session, "viewer-0", present=True)])
        await shards.aclose()
    assert after[session].viewers_now == 0
    await _presence(gateway, session, "viewer-1", "beat")
    assert (await _figures(gateway, live))["viewers_now"] == 0


async def test_questions_queue_and_who_may_answer(gateway: Gateway, worker: WorkerTask) -> None:
    live = await _stream(gateway)
    emp0, emp1 = live["employers"]
    fair, session = live["fair"], live["session"]
    await gateway.request("PUT", live["path"] + "/pin", live["host"],
                          json={"position_id": live["positions"][0]})  # fmt: skip
    for n, employer in enumerate((emp0, emp1, emp0)):
        status, body = await gateway.request(
            "POST", f"/live/{session}/questions", None,
            json={"id": f"question-{n}-{session[:8]}",
                  "viewer_id": await _viewer(gateway, session, f"viewer-{n}"),
                  "employer_id": employer, "question": f"问题{n}：实习生吗？"},
        )  # fmt: skip
        assert status == 202 and body["status"] == "accepted", body
    status, body = await gateway.request(
        "POST", f"/live/{session}/questions", None,
        json={"id": "question-x-0000", "viewer_id": "v", "employer_id": "nobody", "question": "?"},
    )  # fmt: skip
    assert status == 422 and body["fields"] == ["employer_id"], body

    queue = live["path"] + "/consultations"

    async def queued() -> bool:
        status, body = await gateway.request("GET", queue, live["host"])
        return status == 200 and len(body["items"]) == 3

    await eventually(queued)
    employer_tokens = {}
    for employer in (emp0, emp1):
        status, body = await gateway.request(
            "POST", f"/v1/fairs/{fair}/employers/{employer}/token", live["organizer"]
        )
        assert status in (200, 201), body
        employer_tokens[employer] = body["token"]
    status, body = await gateway.request("GET", queue, employer_tokens[emp1])
    assert status == 200 and [q["question"] for q in body["items"]] == ["问题1：实习生吗？"]
    # Labelled with what the viewer chose (this employer, no position), the pin beside it.
    assert body["items"][0]["employer_name"] == "企业1" and body["items"][0]["position_id"] is None
    assert body["items"][0]["pinned_position_id"] == live["positions"][0]
    assert body["items"][0]["pinned_title"] == "工程师0"
    theirs = body["items"][0]["id"]
    _, everything = await gateway.request("GET", queue, live["host"])
    ours = everything["items"][0]["id"]

    status, body = await gateway.request("POST", f"{queue}/{theirs}/answer", employer_tokens[emp0])
    assert status == 403, body
    status, body = await gateway.request("POST", f"{queue}/{ours}/answer", employer_tokens[emp0])
    assert status == 200 and body["answered_by"] == f"employer:{emp0}", body
    status, again = await gateway.request("POST", f"{queue}/{ours}/answer", live["host"])
    assert status == 200 and again["answered_at"] == body["answered_at"]  # the first answer stays
    status, body = await gateway.request("GET", queue, live["host"])
    assert [q["id"] for q in body["items"]] == [everything["items"][1]["id"],
                                                  everything["items"][2]["id"]]  # fmt: skip
    status, body = await gateway.request("GET", queue + "?status=answered", live["organizer"])
    assert [q["id"] for q in body["items"]] == [ours]


async def test_a_host_token_acts_on_its_own_session_only(gateway: Gateway) -> None:
    live = await _stream(gateway)
    fair, organizer = live["fair"], live["organizer"]
    status, other = await gateway.request(
        "POST", f"/v1/fairs/{fair}/live-sessions", organizer,
        json={"title": "另一场", "employer_ids": live["employers"][:1]},
    )  # fmt: skip
    assert status == 201, other
    theirs = f"/v1/fairs/{fair}/live-sessions/{other['id']}"
    host = live["host"]
    for method, path, body in (
        ("GET", theirs, None),
        ("POST", theirs + "/start", None),
        ("PUT", theirs + "/pin", {"position_id": live["positions"][0]}),
        ("DELETE", theirs + "/pin", None),
        ("POST", theirs + "/stop", None),
        ("GET", theirs + "/consultations", None),
        ("POST", f"/v1/fairs/{fair}/live-sessions", {"title": "x", "employer_ids": ["a"]}),
        ("GET", f"/v1/fairs/{fair}/live-sessions", None),
    ):
        status, answer = await gateway.request(method, path, host, json=body)
        assert status == 403, (method, path, status, answer)
    status, answer = await gateway.request(
        "POST", f"/v1/fairs/{fair}/events", host,
        json={"id": "join-of-another-session", "type": "live_join",
              "occurred_at": datetime.now().astimezone().isoformat(),
              "session_id": other["id"], "viewer_id": "v1"},
    )  # fmt: skip
    assert status == 422 and "own live session" in answer["detail"], answer
    # Its own session: start, pin, stop; the viewer page follows.
    status, answer = await gateway.request("POST", live["path"] + "/start", host)
    assert status == 200 and answer["status"] == "live"
    await gateway.request("PUT", live["path"] + "/pin", host,
                          json={"position_id": live["positions"][1]})  # fmt: skip
    status, view = await gateway.request("GET", f"/live/{live['session']}.json", None)
    assert status == 200 and view["pinned"]["id"] == live["positions"][1], view
    assert "host_token" not in view and view["status"] == "live"
    await _presence(gateway, live["session"], "viewer-late", "join")
    status, answer = await gateway.request("POST", live["path"] + "/stop", host)
    assert status == 200 and answer["status"] == "ended" and answer["pinned"] is None
    assert answer["figures"]["viewers_now"] == 0 and answer["figures"]["peak"] == 1  # at once
    await _presence(gateway, live["session"], "viewer-late", "leave")  # harmless after the end
    await _presence(gateway, live["session"], "viewer-later", "join")  # too late to count
    assert (await _figures(gateway, live))["viewers_now"] == 0
    status, answer = await gateway.request(
        "PUT", live["path"] + "/pin", host, json={"position_id": live["positions"][1]}
    )
    assert status == 409, answer


async def test_bad_sessions_name_the_wrong_field(gateway: Gateway) -> None:
    live = await _stream(gateway, employers=1)
    base = f"/v1/fairs/{live['fair']}/live-sessions"
    for body, field in (
        ({"title": "x", "employer_ids": ["no-such-employer"]}, "employer_ids"),
        ({"title": "x", "employer_ids": live["employers"], "position_ids": ["nope"]},
         "position_ids"),
        ({"title": "", "employer_ids": live["employers"]}, "title"),
        ({"title": "x", "employer_ids": []}, "employer_ids"),
        ({"title": "x", "employer_ids": live["employers"], "stream_url": "not a url"},
         "stream_url"),
    ):  # fmt: skip
        status, answer = await gateway.request("POST", base, live["organizer"], json=body)
        assert status == 422 and answer["fields"] == [field], (body, answer)
    status, answer = await gateway.request(
        "PUT", live["path"] + "/pin", live["host"], json={"position_id": "elsewhere"}
    )
    assert status == 422 and answer["fields"] == ["position_id"], answer
    status, answer = await gateway.request("GET", f"/live/{uuid.uuid4()}.json", None)
    assert status == 404, answer
    status, answer = await gateway.request(
        "POST", f"/live/{live['session']}/presence", None, json={"viewer_id": "v", "kind": "dance"}
    )
    assert status == 422 and answer["fields"] == ["kind"], answer


async def test_a_resume_from_a_stream_names_a_session_that_shows_the_employer(
    gateway: Gateway,
) -> None:
    live = await _stream(gateway, employers=1)
    fair, organizer = live["fair"], live["organizer"]
    outsider = await gateway.create(fair, organizer, "employers", name="场外企业")
    seeker = await gateway.create(fair, organizer, "seekers", name="王安")
    for session, employer, field in (
        ("no-such-session", live["employers"][0], "session_id"),
        (live["session"], outsider["id"], "employer_id"),
        (live["session"], live["employers"][0], None),
    ):
        form = aiohttp.FormData()
        for name, value in (("badge", seeker["badge"]), ("employer_id", employer),
                            ("channel", "live"), ("session_id", session)):  # fmt: skip
            form.add_field(name, value)
        form.add_field("file", b"%PDF-1.4 cv", filename="cv.pdf")
        status, body = await gateway.request("POST", f"/v1/fairs/{fair}/resumes", None, data=form)
        if field is None:
            assert status == 201, body
        else:
            assert status == 422 and body["fields"] == [field], body


async def test_presence_from_many_phones_at_once_is_exact(
    gateway: Gateway, worker: WorkerTask
) -> None:
    # Concurrent beats are group-committed (one script call per session per flush): none
    # may be lost or answered with another request's figures.
    live = await _stream(gateway, employers=1)
    session = live["session"]
    viewers = [f"crowd-{n}" for n in range(300)]
    # Their ids first: within the presence window, only presence.
    await asyncio.gather(*(_viewer(gateway, session, v) for v in viewers))
    await asyncio.gather(*(_presence(gateway, session, v, "join", id=f"j-{v}") for v in viewers))
    await asyncio.gather(*(_presence(gateway, session, v, "beat") for v in viewers))
    await asyncio.gather(*(_presence(gateway, session, v, "leave") for v in viewers[:100]))
    figures = await _figures(gateway, live)
    assert (figures["viewers_now"], figures["peak"]) == (200, 300)

    async def counted() -> bool:
        return bool((await _figures(gateway, live))["views"] == 300)

    await eventually(counted)
