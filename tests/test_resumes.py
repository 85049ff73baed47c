"""Résumés: sniffed types, size limit, who may see them, and exact counts after the worker."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import zipfile
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from support import Gateway, WorkerTask, eventually, totals

from fairhub import badges, sniff
from fairhub.streams import NotDurableError, StreamWriter

PDF = b"%PDF-1.7\n" + b"resume body " * 100
PNG = bytes.fromhex("89504E470D0A1A0A") + b"\x00\x00\x00\rIHDR" + b"\x00" * 200
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<xml/>")
    return buffer.getvalue()


@dataclasses.dataclass
class Fair:
    id: str
    token: str
    a: dict[str, Any]  # employer A: id, token
    b: dict[str, Any]
    position: str  # one of A's
    s1: dict[str, Any]  # seekers: id, number, badge
    s2: dict[str, Any]


async def make_fair(gateway: Gateway) -> Fair:
    fair, token = await gateway.create_fair()
    a = await gateway.create(fair, token, "employers", name="华为技术有限公司")
    b = await gateway.create(fair, token, "employers", name="腾讯")
    position = await gateway.create(
        fair,
        token,
        "positions",
        employer_id=a["id"],
        title="软件工程师",
        job_type="IT",
        headcount=5,
    )
    s1 = await gateway.create(
        fair, token, "seekers", name="张三", school="北京大学", phone="13800000000"
    )
    s2 = await gateway.create(fair, token, "seekers", name="李四", school="清华大学")
    return Fair(fair, token, a, b, position["id"], s1, s2)


def form(data: bytes, filename: str = "cv.pdf", **fields: str) -> aiohttp.FormData:
    """A body as a browser sends it: names as UTF-8 (aiohttp's default %-encodes them)."""
    body = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        body.add_field(name, value)
    file = io.BytesIO(data)
    body.add_field("file", file, filename=filename, content_type="application/pdf")
    return body


async def send(
    gateway: Gateway, fair: str, data: bytes, token: str | None = None, **fields: str
) -> tuple[int, Any]:
    filename = fields.pop("filename", "cv.pdf")
    path = f"/v1/fairs/{fair}/resumes"
    return await gateway.request("POST", path, token, data=form(data, filename, **fields))


async def fetch(gateway: Gateway, resume_id: str, token: str) -> tuple[int, Any, bytes]:
    """GET the file: status, headers, raw bytes."""
    headers = {"Authorization": f"Bearer {token}"}
    url = f"{gateway.base}/v1/resumes/{resume_id}/file"
    async with gateway.session.get(url, headers=headers) as response:
        return response.status, response.headers, await response.read()


async def test_type_comes_from_the_bytes_not_the_name(gateway: Gateway) -> None:
    f = await make_fair(gateway)
    badge = f.s1["badge"]
    status, body = await send(gateway, f.id, EXE, badge=badge, employer_id=f.a["id"])
    assert status == 422, body
    assert (body["error"], body["fields"]) == ("unsupported_type", ["file"])
    xlsx = _zip("[Content_Types].xml", "xl/workbook.xml")
    status, body = await send(gateway, f.id, xlsx, badge=badge, employer_id=f.a["id"])
    assert (status, body["error"]) == (422, "unsupported_type")

    status, body = await send(gateway, f.id, PNG, badge=badge, employer_id=f.a["id"])
    assert status == 201, body
    assert body["content_type"] == "image/png"
    assert (body["size"], body["sha256"]) == (len(PNG), hashlib.sha256(PNG).hexdigest())
    status, headers, data = await fetch(gateway, body["id"], f.a["token"])
    assert (status, headers["Content-Type"], data) == (200, "image/png", PNG)
    assert 'filename="cv.png"' in headers["Content-Disposition"]

    docx = _zip("[Content_Types].xml", "word/document.xml")
    fields = {"badge": badge, "employer_id": f.a["id"], "filename": "张三的简历.docx"}
    status, body = await send(gateway, f.id, docx, **fields)
    assert status == 201, body
    assert body["content_type"].endswith("wordprocessingml.document")
    status, headers, data = await fetch(gateway, body["id"], f.a["token"])
    assert data == docx
    assert f"filename*=UTF-8''{quote('张三的简历.docx')}" in headers["Content-Disposition"]

    quoted = aiohttp.FormData()  # aiohttp's own client sends the name %-encoded
    quoted.add_fields(("badge", badge), ("employer_id", f.a["id"]))
    quoted.add_field("file", PDF, filename="李四 简历.PDF")
    status, body = await gateway.request("POST", f"/v1/fairs/{f.id}/resumes", None, data=quoted)
    assert status == 201, body
    status, headers, _ = await fetch(gateway, body["id"], f.a["token"])
    assert f"filename*=UTF-8''{quote('李四 简历.pdf')}" in headers["Content-Disposition"]


async def test_a_file_over_the_limit_is_413(gateway: Gateway) -> None:
    f = await make_fair(gateway)
    big = b"%PDF-" + b"\x00" * (10 * 1024 * 1024)
    status, body = await send(gateway, f.id, big, badge=f.s1["badge"], employer_id=f.a["id"])
    assert status == 413, body
    assert body["fields"] == ["file"]


async def test_who_may_send(gateway: Gateway) -> None:
    f = await make_fair(gateway)
    real = badges.read(f.s1["badge"])
    forger = dataclasses.replace(badges.new_key(), kid=real.kid)
    forged = badges.sign(forger, f.id, real.seeker_id, 1)
    status, body = await send(gateway, f.id, PDF, badge=forged, employer_id=f.a["id"])
    assert (status, body["error"], body["fields"]) == (401, "invalid_badge", ["badge"])

    other, other_token = await gateway.create_fair("秋季招聘会")
    stranger = await gateway.create(other, other_token, "seekers", name="王五")
    status, body = await send(gateway, f.id, PDF, badge=stranger["badge"], employer_id=f.a["id"])
    assert (status, body["error"], body["fields"]) == (403, "wrong_fair", ["badge"])

    # Naming a seeker is the organizer's desk: no token, or another role's, may not.
    status, body = await send(gateway, f.id, PDF, seeker_id=f.s1["id"], employer_id=f.a["id"])
    assert (status, body["fields"]) == (401, ["badge"])
    fields = {"seeker_id": f.s1["id"], "employer_id": f.a["id"]}
    status, body = await send(gateway, f.id, PDF, f.a["token"], **fields)
    assert status == 403, body
    status, body = await send(gateway, f.id, PDF, other_token, **fields)
    assert status == 403, body
    status, body = await send(gateway, f.id, PDF, f.token, **fields, channel="onsite")
    assert status == 201, body

    badge = f.s1["badge"]
    status, body = await send(gateway, f.id, PDF, badge=badge, employer_id="nobody")
    assert (status, body["fields"]) == (422, ["employer_id"])
    fields = {"badge": badge, "employer_id": f.b["id"], "position_id": f.position}
    status, body = await send(gateway, f.id, PDF, **fields)  # A's position, sent to B
    assert (status, body["fields"]) == (422, ["position_id"])
    status, body = await send(gateway, f.id, PDF, badge=badge, employer_id=f.a["id"], colour="red")
    assert (status, body["fields"]) == (422, ["colour"])


async def test_only_its_employer_and_the_organizer_see_a_resume(gateway: Gateway) -> None:
    f = await make_fair(gateway)
    fields = {"badge": f.s1["badge"], "employer_id": f.a["id"], "position_id": f.position}
    status, sent = await send(gateway, f.id, PDF, **fields)
    assert status == 201, sent
    device = await gateway.create(f.id, f.token, "devices", label="1号门")
    other, other_token = await gateway.create_fair("秋季招聘会")
    other_employer = await gateway.create(other, other_token, "employers", name="华为技术有限公司")

    for token in (f.b["token"], device["token"], other_token, other_employer["token"]):
        status, _, data = await fetch(gateway, sent["id"], token)
        assert status == 404, data
    status, _, _ = await fetch(gateway, "no-such-resume", f.a["token"])
    assert status == 404
    status, _ = await gateway.request("GET", f"/v1/resumes/{sent['id']}/file", None)
    assert status == 401

    path = f"/v1/fairs/{f.id}/resumes"
    status, listing = await gateway.request("GET", path, f.b["token"])
    assert (status, listing["items"]) == (200, [])
    status, listing = await gateway.request("GET", path + f"?employer_id={f.a['id']}", f.b["token"])
    assert (status, listing["items"]) == (200, [])
    assert (await gateway.request("GET", path, device["token"]))[0] == 403
    assert (await gateway.request("GET", path, other_token))[0] == 403

    status, listing = await gateway.request("GET", path, f.a["token"])
    assert status == 200
    [item] = listing["items"]
    assert item["id"] == sent["id"]
    assert (item["seeker_name"], item["school"], item["phone"]) == (
        "张三",
        "北京大学",
        "13800000000",
    )
    assert (item["position_title"], item["channel"], item["downloaded_at"]) == (
        "软件工程师",
        "online",
        None,
    )

    status, headers, data = await fetch(gateway, sent["id"], f.a["token"])
    assert status == 200
    assert hashlib.sha256(data).hexdigest() == sent["sha256"]
    assert data == PDF
    assert headers["Content-Type"] == "application/pdf"
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, _, data = await fetch(gateway, sent["id"], f.token)
    assert (status, data) == (200, PDF)
    [item] = (await gateway.request("GET", path, f.a["token"]))[1]["items"]
    assert item["downloaded_at"] is not None


async def test_listing_pages(gateway: Gateway) -> None:
    f = await make_fair(gateway)
    for n in range(3):
        fields = {"badge": f.s1["badge"], "employer_id": f.a["id"], "id": f"page-test-{n}"}
        assert (await send(gateway, f.id, PDF + bytes([n]), **fields))[0] == 201
    await send(gateway, f.id, PDF, badge=f.s2["badge"], employer_id=f.b["id"])
    path = f"/v1/fairs/{f.id}/resumes"
    status, first = await gateway.request(
        "GET", path + f"?employer_id={f.a['id']}&limit=2", f.token
    )
    assert status == 200 and len(first["items"]) == 2 and first["next"]
    query = f"?employer_id={f.a['id']}&limit=2&after={first['next']}"
    status, second = await gateway.request("GET", path + query, f.token)
    assert (len(second["items"]), second["next"]) == (1, None)
    everything = (await gateway.request("GET", path, f.token))[1]["items"]
    assert len(everything) == 4
    assert (await gateway.request("GET", path + "?after=junk", f.token))[0] == 422


async def test_counts_are_exact(gateway: Gateway, worker: WorkerTask) -> None:
    f = await make_fair(gateway)
    retried = {"badge": f.s1["badge"], "employer_id": f.a["id"], "id": "phone-retry-0001"}
    status, first = await send(gateway, f.id, PDF, **retried)
    assert status == 201, first
    status, again = await send(gateway, f.id, PDF, **retried)
    assert (status, again) == (200, first)
    status, body = await send(gateway, f.id, PNG, **retried)  # the same key, another file
    assert (status, body["fields"]) == (409, ["id"])
    desk = {"seeker_id": f.s2["id"], "employer_id": f.a["id"], "channel": "onsite"}
    status, second = await send(gateway, f.id, PNG, f.token, **desk)
    assert status == 201, second
    status, third = await send(gateway, f.id, PDF, badge=f.s1["badge"], employer_id=f.b["id"])
    assert status == 201, third
    assert third["sha256"] == first["sha256"]  # one stored file, two résumés

    for resume, employer in ((first, f.a), (first, f.a), (second, f.a), (third, f.b)):
        status, _, data = await fetch(gateway, resume["id"], employer["token"])
        assert status == 200, data
    assert (await fetch(gateway, third["id"], f.token))[0] == 200  # the organizer's look

    want = {"resumes_submitted": (3, 2), "resumes_downloaded": (3, 2)}

    async def counted() -> bool:
        got = totals(await gateway.stats(f.id, f.token))
        return all(got[m] == want[m] for m in want)

    await eventually(counted)
    await asyncio.sleep(0.5)  # nothing more arrives later
    stats = await gateway.stats(f.id, f.token)
    assert {m: totals(stats)[m] for m in want} == want
    assert all("name" in row for row in stats["by_school"]), stats["by_school"]
    schools = {row["name"]: row["totals"] for row in stats["by_school"]}
    assert schools["北京大学"]["resumes_submitted"] == {"total": 2, "unique": 1}
    assert schools["清华大学"]["resumes_submitted"] == {"total": 1, "unique": 1}
    assert schools["北京大学"]["resumes_downloaded"] == {"total": 2, "unique": 1}


async def test_a_failed_append_is_redone_by_the_retry(
    gateway: Gateway, worker: WorkerTask, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = await make_fair(gateway)
    real = StreamWriter.append_all
    failures = [NotDurableError("injected: Redis did not confirm")]

    async def flaky(self: StreamWriter, fair: str, entries: list[Any]) -> list[Any]:
        if failures:
            raise failures.pop()
        return await real(self, fair, entries)

    monkeypatch.setattr(StreamWriter, "append_all", flaky)
    fields = {"badge": f.s1["badge"], "employer_id": f.a["id"], "id": "after-outage-01"}
    status, body = await send(gateway, f.id, PDF, **fields)
    assert status == 503, body
    status, body = await send(gateway, f.id, PDF, **fields)
    assert status == 200, body  # the row was kept; its event goes in now
    assert (await send(gateway, f.id, PDF, **fields))[0] == 200

    async def counted() -> bool:
        return totals(await gateway.stats(f.id, f.token))["resumes_submitted"] == (1, 1)

    await eventually(counted)
    await asyncio.sleep(0.5)
    assert totals(await gateway.stats(f.id, f.token))["resumes_submitted"] == (1, 1)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"%PDF-1.4", "application/pdf"),
        (bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 8, "application/msword"),
        (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"),
        (PNG, "image/png"),
        (_zip("word/document.xml"), sniff.DOCX),
        (_zip("xl/workbook.xml"), None),
        (b"PK\x03\x04 not really a zip", None),
        (EXE, None),
        (b"", None),
    ],
)
def test_sniff(data: bytes, kind: str | None) -> None:
    assert sniff.content_type(data) == kind


async def test_malformed_uploads_are_4xx(gateway: Gateway) -> None:
    f = await make_fair(gateway)
    path = f"{gateway.base}/v1/fairs/{f.id}/resumes"
    for content_type, body, status in (
        ("application/json", b"{}", 400),
        ("multipart/form-data; boundary=X", b"--X\r\nbroken", 400),
        ("multipart/form-data; boundary=X", b"garbage", 400),
        ("multipart/form-data", b"--X\r\n", 400),
    ):
        # The organizer's desk: without a token, a body that cannot carry a badge is 401.
        headers = {"Content-Type": content_type, "Authorization": f"Bearer {f.token}"}
        async with gateway.session.post(path, data=body, headers=headers) as response:
            assert response.status == status, await response.text()
            assert (await response.json())["fields"] == ["body"]
    no_file = aiohttp.FormData({"badge": f.s1["badge"], "employer_id": f.a["id"]})
    no_file.add_field("x", b"", filename="a")  # still multipart, but no file part
    status, body = await gateway.request("POST", path[len(gateway.base) :], None, data=no_file)
    assert (status, body["fields"]) == (422, ["x"])
    bad_text = form(PDF, badge=f.s1["badge"], employer_id=f.a["id"])
    bad_text.add_field("session_id", io.BytesIO(b"\xff\xfe"), content_type="text/plain")
    status, body = await gateway.request("POST", path[len(gateway.base) :], None, data=bad_text)
    assert (status, body["fields"]) == (422, ["session_id"])
    status, body = await send(gateway, f.id, b"", badge=f.s1["badge"], employer_id=f.a["id"])
    assert (status, body["error"]) == (422, "unsupported_type")
