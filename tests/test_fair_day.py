"""A whole fair, set up from spreadsheets and run through the public API, ends in exact figures.

The registry is the size of a real municipal fair (80 employers, 2,300 positions, 2,000
seekers from 20 colleges); the day is a sample of it: gates with re-entries, forged badges
and kiosk retries, booth scans, phones opening employer pages, résumés sent from badges and
downloaded by employers, intents. The test keeps its own ledger of what it did and compares
every metric, and the breakdown by school and by employer, with /stats.
"""

from __future__ import annotations

import asyncio
import io
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from support import Gateway, WorkerTask, eventually

T = TypeVar("T")
SCHOOLS = [f"{city}大学" for city in "京沪津渝冀晋辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂"]
JOB_TYPES = [f"类别{n:02d}" for n in range(50)]
PDF = b"%PDF-1.4\n" + b"curriculum vitae " * 64


def csv_bytes(header: str, rows: list[str], encoding: str) -> bytes:
    text = "\r\n".join([header, *rows]) + "\r\n"
    return text.encode("utf-8-sig" if encoding == "bom" else encoding)


@dataclass
class Ledger:
    """What the day did, metric by metric: (total events, distinct subjects)."""

    events: Counter[str] = field(default_factory=Counter)
    subjects: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    checkins_by_school: defaultdict[str, list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    resumes_by_employer: Counter[str] = field(default_factory=Counter)

    def add(self, metric: str, subject: str) -> None:
        self.events[metric] += 1
        self.subjects[metric].add(subject)

    def expected(self) -> dict[str, tuple[int, int]]:
        metrics = (
            "checkins",
            "checkins_denied",
            "qr_scans",
            "booth_visits",
            "resumes_submitted",
            "resumes_downloaded",
            "intents",
        )
        return {m: (self.events[m], len(self.subjects[m])) for m in metrics}


async def in_parallel(
    call: Callable[..., Awaitable[T]], arguments: list[tuple[Any, ...]], width: int = 16
) -> list[T]:
    """call(*a) for each a, at most `width` in flight, as a hall of kiosks would."""
    gate = asyncio.Semaphore(width)

    async def one(args: tuple[Any, ...]) -> T:
        async with gate:
            return await call(*args)

    return await asyncio.gather(*(one(a) for a in arguments))


async def test_a_fair_day_from_spreadsheets_to_exact_figures(
    gateway: Gateway, worker: WorkerTask
) -> None:
    rng = random.Random(20261123)
    fair, token = await gateway.create_fair("2026 春季高校毕业生双选会")

    async def upload(kind: str, body: bytes) -> dict[str, Any]:
        status, answer = await gateway.request(
            "POST",
            f"/v1/fairs/{fair}/{kind}:import",
            token,
            data=body,
            headers={"Content-Type": "text/csv"},
        )
        assert status == 200, answer
        assert answer["errors"] == [], answer["errors"][:3]
        return dict(answer)

    # Setting up: three spreadsheets, in the encodings Excel writes.
    employer_rows = [f"企业{n:02d}有限公司,A{n:02d},制造业" for n in range(80)]
    made = await upload("employers", csv_bytes("企业名称,展位号,行业", employer_rows, "bom"))
    employers = {e["name"]: e for e in made["employers"]}
    assert made["created"] == 80 and len(employers) == 80
    position_rows = [
        f"企业{n % 80:02d}有限公司,岗位{n:04d},{JOB_TYPES[n % 50]},{1 + n % 5}" for n in range(2300)
    ]
    made = await upload(
        "positions", csv_bytes("企业名称,岗位名称,岗位类别,招聘人数", position_rows, "gb18030")
    )
    assert made["created"] == 2300
    school_of_line: dict[int, str] = {}
    seeker_rows = []
    for n in range(2000):
        school_of_line[n + 2] = SCHOOLS[n % 20]
        seeker_rows.append(f"学生{n:04d},{SCHOOLS[n % 20]},会计,1380000{n:04d}")
    made = await upload("seekers", csv_bytes("姓名,学校,专业,手机", seeker_rows, "utf-8"))
    assert made["created"] == 2000 and made["numbers"] == {"from": 1, "to": 2000}
    seekers = [(item["id"], school_of_line[item["line"]]) for item in made["items"]]
    school_of = dict(seekers)

    # Printing: the first sheet of badges carries the first seekers' names.
    status, sheet = await gateway.request("GET", f"/v1/fairs/{fair}/badges.html?from=1&to=8", token)
    assert status == 200 and all(f"学生{n:04d}" in sheet for n in range(8))

    # The day's cast: 300 seekers come; their badges as printed.
    cast = rng.sample([seeker_id for seeker_id, _ in seekers], 300)

    async def badge_of(seeker_id: str) -> str:
        status, body = await gateway.request("GET", f"/v1/fairs/{fair}/seekers/{seeker_id}", token)
        assert status == 200, body
        return str(body["badge"])

    badges = dict(zip(cast, await in_parallel(badge_of, [(s,) for s in cast]), strict=True))
    gates = [
        (await gateway.create(fair, token, "devices", label=f"{g}门", gate=g))["token"]
        for g in ("东", "西")
    ]
    ledger = Ledger()

    # Gates: everyone in once, 60 come back, 10 forged badges, 20 kiosk retries.
    scans: list[tuple[str, str, str]] = []  # (scan id, badge, seeker or "")
    for n, seeker_id in enumerate(cast):
        scans.append((f"gate-{n:05d}", badges[seeker_id], seeker_id))
    for n, seeker_id in enumerate(rng.sample(cast, 60)):
        scans.append((f"gate-re-{n:05d}", badges[seeker_id], seeker_id))
    for n in range(10):
        real = badges[cast[n]]
        scans.append(
            (f"gate-forged-{n:03d}", real[:-3] + ("AAA" if real[-3:] != "AAA" else "BBB"), "")
        )

    async def check_in(scan_id: str, badge: str) -> dict[str, Any]:
        status, body = await gateway.request(
            "POST",
            f"/v1/fairs/{fair}/checkins",
            rng.choice(gates),
            json={"id": scan_id, "badge": badge},
        )
        assert status == 200, body
        return dict(body)

    verdicts = await in_parallel(check_in, [s[:2] for s in scans[:300]])
    verdicts += await in_parallel(check_in, [s[:2] for s in scans[300:]])
    retried = await in_parallel(check_in, [s[:2] for s in scans[:20]])
    assert [v["verdict"] for v in retried] == ["admitted"] * 20
    assert Counter(v["verdict"] for v in verdicts) == {
        "admitted": 300,
        "reentry": 60,
        "invalid_badge": 10,
    }
    for (_, _, seeker_id), verdict in zip(scans, verdicts, strict=True):
        if verdict["verdict"] == "invalid_badge":
            ledger.events["checkins_denied"] += 1
            ledger.subjects["checkins_denied"].add(str(len(ledger.subjects["checkins_denied"])))
        else:
            ledger.add("checkins", seeker_id)
            ledger.checkins_by_school[school_of[seeker_id]].append(seeker_id)

    # Booths: 150 scans by employers' own tokens, some of the same person twice.
    employer_list = list(employers.values())
    booth_scans = [(rng.choice(employer_list[:20]), rng.choice(cast[:100])) for _ in range(150)]

    async def lead(employer: dict[str, Any], seeker_id: str) -> int:
        status, body = await gateway.request(
            "POST", f"/v1/fairs/{fair}/leads", employer["token"], json={"badge": badges[seeker_id]}
        )
        assert status in (200, 201), body
        return status

    answers = await in_parallel(lead, list(booth_scans))
    assert answers.count(201) == len({(e["id"], s) for e, s in booth_scans})
    for _, seeker_id in booth_scans:
        ledger.add("booth_visits", seeker_id)

    # Phones: 12 visitors open 200 employer pages from booth QR codes.
    phones = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(12)]
    try:

        async def visit(phone: int, employer: dict[str, Any]) -> None:
            url = f"{gateway.base}/p/{fair}/employers/{employer['id']}.json"
            async with phones[phone].get(url) as response:
                assert response.status == 200, await response.text()
                assert len((await response.json())["positions"]) == 2300 // 80 + (
                    1 if int(employer["name"][2:4]) < 2300 % 80 else 0
                )
            ledger.add("qr_scans", f"phone-{phone}")

        for phone in range(12):  # each phone's first page sets its visitor cookie
            await visit(phone, employer_list[phone])
        views = [(rng.randrange(12), rng.choice(employer_list)) for _ in range(188)]
        await in_parallel(visit, list(views))
    finally:
        for session in phones:
            await session.close()

    # Résumés: 80 sent from badges on the phone page, 6 of them retried with the same id.
    sends = [(rng.choice(cast), rng.choice(employer_list[:30])) for _ in range(80)]

    async def send(n: int, seeker_id: str, employer: dict[str, Any]) -> str:
        body = aiohttp.FormData(quote_fields=False)
        for name, value in {
            "id": f"cv-{n:05d}",
            "badge": badges[seeker_id],
            "employer_id": employer["id"],
            "channel": "onsite",
        }.items():
            body.add_field(name, value)
        body.add_field(
            "file", io.BytesIO(PDF), filename=f"简历{n}.pdf", content_type="application/pdf"
        )
        status, answer = await gateway.request("POST", f"/v1/fairs/{fair}/resumes", None, data=body)
        assert status in (200, 201), answer
        return str(answer["id"])

    resume_ids = await in_parallel(send, [(n, s, e) for n, (s, e) in enumerate(sends)])
    again = await in_parallel(send, [(n, s, e) for n, (s, e) in enumerate(sends[:6])])
    assert again == resume_ids[:6]
    for seeker_id, employer in sends:
        ledger.add("resumes_submitted", seeker_id)
        ledger.resumes_by_employer[employer["id"]] += 1

    # Employers download 50 of them, 10 twice; downloading again is not a second résumé.
    downloads = [(resume_ids[n], sends[n]) for n in rng.sample(range(80), 50)]

    async def download(resume_id: str, employer: dict[str, Any]) -> None:
        url = f"{gateway.base}/v1/resumes/{resume_id}/file"
        headers = {"Authorization": f"Bearer {employer['token']}"}
        async with gateway.session.get(url, headers=headers) as response:
            assert response.status == 200
            assert await response.read() == PDF

    await in_parallel(download, [(r, e) for r, (_, e) in downloads])
    await in_parallel(download, [(r, e) for r, (_, e) in downloads[:10]])
    for _, (seeker_id, _) in downloads:
        ledger.add("resumes_downloaded", seeker_id)

    # Intents: 30, signed by employers with seekers who sent them a résumé.
    for n, (seeker_id, employer) in enumerate(sends[:30]):
        status, body = await gateway.request(
            "POST",
            f"/v1/fairs/{fair}/intents",
            employer["token"],
            json={"id": f"intent-{n:04d}", "seeker_id": seeker_id},
        )
        assert status == 201, body
        ledger.add("intents", seeker_id)

    # The figures: every metric exact, and the breakdowns that organizers publish.
    expected = ledger.expected()

    async def settled() -> bool:
        stats = await gateway.stats(fair, token)
        got = {m: (c["total"], c["unique"]) for m, c in stats["totals"].items()}
        return all(got[m] == expected[m] for m in expected)

    await eventually(settled, timeout=60)
    stats = await gateway.stats(fair, token)
    assert stats["checkins_by_verdict"] == {
        "admitted": 300,
        "reentry": 60,
        "invalid_badge": 10,
        "wrong_fair": 0,
        "revoked": 0,
    }
    by_school = {row["name"]: row["totals"]["checkins"] for row in stats["by_school"]}
    assert by_school == {
        school: {"total": len(visits), "unique": len(set(visits))}
        for school, visits in ledger.checkins_by_school.items()
    }
    by_employer = {
        row["employer_id"]: row["totals"]["resumes_submitted"]["total"]
        for row in stats["by_employer"]
        if row["totals"]["resumes_submitted"]["total"]
    }
    assert by_employer == dict(ledger.resumes_by_employer)
    assert {row["name"] for row in stats["by_employer"]} <= set(employers)

    # The evening's report carries the same figures: the day as organizers publish it.
    status, report = await gateway.request("GET", f"/v1/fairs/{fair}/report.json", token)
    assert status == 200, report
    assert report["totals"] == stats["totals"]
    summary = report["summary"]
    assert (summary["employers"], summary["positions"], summary["colleges_registered"]) == (
        80,
        2300,
        len(SCHOOLS),
    )
    assert summary["visitors"] == expected["checkins"][1]
    assert summary["resumes_submitted"] == expected["resumes_submitted"][0]
    assert summary["resumes_downloaded"] == expected["resumes_downloaded"][0]
    assert summary["qr_visits"] == expected["qr_scans"][0]
    assert summary["intents"] == expected["intents"][0]
    received = {row["employer_id"]: row["resumes_received"] for row in report["employers"]}
    assert {k: v for k, v in received.items() if v} == dict(ledger.resumes_by_employer)
    assert len(report["employers"]) == 80
