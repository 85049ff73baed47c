"""CSV imports of the registry: Excel's encodings, per-line errors, one transaction, scale."""

# Error texts are Chinese with full-width punctuation; so are these tests.
# ruff: noqa: RUF001

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from typing import Any

import aiohttp
import asyncpg
from redis.asyncio import Redis
from support import Gateway

from fairhub import keys

HEADCOUNT = "招聘人数\uff08人\uff09"  # full-width parentheses, as Chinese templates have them


async def upload(
    gateway: Gateway, fair: str, token: str | None, kind: str, data: bytes
) -> tuple[int, Any]:
    """POST a file as the raw body, as a script or curl --data-binary would."""
    body = aiohttp.BytesIOPayload(io.BytesIO(data), content_type="text/csv")
    return await gateway.request("POST", f"/v1/fairs/{fair}/{kind}:import", token, data=body)


async def count(db: asyncpg.Connection, table: str, fair: str) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {table} WHERE fair_id = $1", fair))


async def test_employers_from_utf8_with_bom_get_tokens_and_line_errors(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    await gateway.create(fair, token, "employers", name="已有科技")
    text = (
        "企业名称, 展位号 ,所属行业,备注\r\n"  # line 1
        "华为技术,A01,通信,\r\n"  # 2
        ',A02,"没有\r\n名字",\r\n'  # 3-4: no name, a cell spanning two lines
        "\r\n"  # 5: empty, skipped
        "腾讯科技,A03,互联网,重点\r\n"  # 6
        "华为技术,A04,通信,\r\n"  # 7: twice in the file
        "已有科技,A05,,\r\n"  # 8: exists in the fair
        ",,,\r\n"  # 9: an empty row as Excel writes it, skipped
        '"字节跳动",B01,"互联网,\r\n媒体",\r\n'  # 10-11
        "ByteDance Lab,B02,,\r\n"  # 12
        "美团,B03,生活,服务,外卖\r\n"  # 13: an unquoted comma makes a fifth cell
    )
    status, body = await upload(gateway, fair, token, "employers", text.encode("utf-8-sig"))

    assert status == 200, body
    assert body["encoding"] == "utf-8-sig"
    assert body["created"] == 4
    assert body["ignored_columns"] == ["备注"]
    assert body["columns"] == {"name": "企业名称", "booth": "展位号", "industry": "所属行业"}
    assert [e["line"] for e in body["errors"]] == [3, 7, 8, 13]
    assert "本行有 5 格，表头只有 4 列" in body["errors"][3]["error"]
    assert body["errors"][0]["error"].startswith("企业名称：")
    assert body["errors"][1]["error"] == "企业名称：“华为技术” 与本文件第 2 行重复"
    assert body["errors"][2]["error"] == "企业名称：本场已有名为“已有科技”的企业"
    assert [e["field"] for e in body["errors"]] == ["企业名称", "企业名称", "企业名称", None]
    created = body["employers"]
    assert [(e["line"], e["name"]) for e in created] == [
        (2, "华为技术"),
        (6, "腾讯科技"),
        (10, "字节跳动"),
        (12, "ByteDance Lab"),
    ]
    assert await count(db, "employers", fair) == 5
    industry = await db.fetchval(
        "SELECT industry FROM employers WHERE fair_id = $1 AND id = $2", fair, created[2]["id"]
    )
    assert industry == "互联网,\r\n媒体"
    for employer in created:  # each token works at once and belongs to its employer
        assert employer["token"].startswith("fhe_")
        status, mine = await gateway.request(
            "GET", f"/v1/fairs/{fair}/employers/{employer['id']}", employer["token"]
        )
        assert (status, mine["name"]) == (200, employer["name"])


async def test_positions_from_gb18030_with_line_errors(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    employers = "name,booth\nAlpha Corp,A1\n北京某某有限公司,A2\n"
    status, body = await upload(gateway, fair, token, "employers", employers.encode())
    assert (status, body["encoding"], body["created"]) == (200, "utf-8", 2), body
    beta = body["employers"][1]["id"]
    text = (
        "岗位信息表(2026 春季)\n"  # 1: a title line above the header
        f"单位名称,岗位名称,岗位类别,{HEADCOUNT},岗位描述\n"  # 2
        "北京某某有限公司,软件工程师,全职,5,负责后端开发\n"  # 3
        "alpha corp,销售代表,全职,若干,\n"  # 4: names match case-insensitively; 若干 -> 0
        '北京某某有限公司,测试工程师,实习,很多,"要求:\n1. 细心\n2. 耐心"\n'  # 5-7
        "不存在的公司,会计,全职,2,\n"  # 8
        "北京某某有限公司,,全职,1,\n"  # 9: no title
        "北京某某有限公司,产品经理,全职,3人,\n"  # 10
        "北京某某有限公司,运维,全职,-1,\n"  # 11
    )
    status, body = await upload(gateway, fair, token, "positions", text.encode("gb18030"))

    assert status == 200, body
    assert (body["encoding"], body["header_line"]) == ("gb18030", 2)
    assert body["columns"]["headcount"] == HEADCOUNT
    errors = {e["line"]: e["error"] for e in body["errors"]}
    assert sorted(errors) == [5, 8, 9, 11]
    assert errors[5] == "招聘人数：应为整数"
    assert errors[8] == "企业名称：本场没有名为“不存在的公司”的企业"
    assert errors[9] == "岗位名称：必填，不能为空"
    assert errors[11] == "招聘人数：不能小于 0"
    assert body["created"] == 3
    assert [i["line"] for i in body["items"]] == [3, 4, 10]
    rows = await db.fetch(
        "SELECT employer_id, title, headcount FROM positions WHERE fair_id = $1 ORDER BY title",
        fair,
    )
    assert sorted((r["title"], r["headcount"]) for r in rows) == [
        ("产品经理", 3),
        ("软件工程师", 5),
        ("销售代表", 0),
    ]
    assert {r["employer_id"] for r in rows if r["title"] != "销售代表"} == {beta}


async def test_positions_by_employer_id_from_a_form_upload(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    employer = (await gateway.create(fair, token, "employers", name="E"))["id"]
    gone = (await gateway.create(fair, token, "employers", name="Gone"))["id"]
    status, _ = await gateway.request("DELETE", f"/v1/fairs/{fair}/employers/{gone}", token)
    assert status == 200
    text = f"Employer ID,Title,Job Type,Headcount\n{employer},Dev,全职,1\n{gone},Ops,全职,1\n"
    form = aiohttp.FormData()
    form.add_field("note", "spring")
    form.add_field("file", text.encode(), filename="positions.csv", content_type="text/csv")
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/positions:import", token, data=form
    )
    assert status == 200, body
    assert body["created"] == 1
    assert body["errors"] == [
        {"line": 3, "error": f"企业编号：本场没有企业“{gone}”", "field": "企业编号"}
    ]
    assert await count(db, "positions", fair) == 1


async def test_seekers_get_badge_numbers_that_check_in(
    gateway: Gateway, db: asyncpg.Connection, redis: Redis
) -> None:
    fair, token = await gateway.create_fair()
    await gateway.create(fair, token, "seekers", name="先来的")  # badge number 1
    text = (
        "姓名,毕业院校,专业,手机号\n"
        "张三,北京大学,计算机科学,138 0013 8000\n"  # 2
        "李四,清华大学,,13900139000\n"  # 3
        "王五,北京大学,数学,12ab\n"  # 4: bad phone
        ',北京大学,"无\n名",\n'  # 5-6: no name
        "赵六,,,\n"  # 7
    )
    status, body = await upload(gateway, fair, token, "seekers", text.encode())

    assert status == 200, body
    assert body["created"] == 3
    assert body["numbers"] == {"from": 2, "to": 4}
    assert [(i["line"], i["number"]) for i in body["items"]] == [(2, 2), (3, 3), (7, 4)]
    assert [e["line"] for e in body["errors"]] == [4, 5]
    assert body["errors"][0]["error"].startswith("手机号：不是有效的电话号码")
    assert body["errors"][1]["error"] == "姓名：必填，不能为空"
    assert await count(db, "seekers", fair) == 4
    phone = await db.fetchval("SELECT phone FROM seekers WHERE fair_id = $1 AND number = 2", fair)
    assert phone == "13800138000"
    first = body["items"][0]["id"]
    card = await redis.hget(keys.seekers(fair), first)
    assert card is not None and json.loads(card)["name"] == "张三"
    status, seeker = await gateway.request("GET", f"/v1/fairs/{fair}/seekers/{first}", token)
    assert (status, seeker["school"], seeker["number"]) == (200, "北京大学", 2)
    status, verdict = await gateway.request(
        "POST",
        f"/v1/fairs/{fair}/checkins",
        token,
        json={"id": f"scan-{uuid.uuid4().hex[:12]}", "badge": seeker["badge"]},
    )
    assert status == 200, verdict
    assert verdict["verdict"] == "admitted"
    assert verdict["seeker"] == {"id": first, "name": "张三"}


async def test_excel_unicode_text_is_utf16_with_tabs(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    text = "姓名\t学校\r\n周七\t复旦大学\r\n吴八\t\r\n"
    status, body = await upload(gateway, fair, token, "seekers", text.encode("utf-16"))
    assert (status, body["encoding"], body["created"], body["errors"]) == (200, "utf-16", 2, [])


async def test_files_that_cannot_be_imported_get_a_clear_4xx(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    cases: list[tuple[str, bytes, int, str, str]] = [
        ("employers", b"PK\x03\x04\x14\x00\x06\x00 workbook", 422, "invalid_csv", "Excel"),
        ("employers", b"name\n\xff\xfe\xfd\xfc\n", 422, "invalid_csv", "GB18030"),
        ("employers", b"name\nA\x00B\n", 422, "invalid_csv", "NUL"),
        ("seekers", "编号,备注\n1,x\n".encode(), 422, "invalid_csv", "姓名"),
        ("seekers", b"", 422, "invalid_csv", "没有可识别的表头"),
        ("employers", b'{"name": "JSON Corp"}', 422, "invalid_csv", "没有可识别的表头"),
        ("positions", "岗位名称\n工程师\n".encode(), 422, "invalid_csv", "缺少 企业名称"),
        ("positions", "岗位,职位\nx,y\n".encode(), 422, "invalid_csv", "两列都是岗位名称"),
    ]
    for kind, data, status, code, words in cases:
        got, body = await upload(gateway, fair, token, kind, data)
        assert (got, body["error"]) == (status, code), (data, body)
        assert words in body["detail"], body
    status, body = await upload(gateway, fair, token, "positions", "岗位名称\n工程师\n".encode())
    assert body["fields"] == ["employer", "job_type", "headcount"]
    status, body = await upload(gateway, fair, token, "employers", b"name\n" + b"x" * 21_000_000)
    assert (status, body["error"]) == (413, "too_large"), body
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("other", "no file here")
    status, body = await gateway.request(
        "POST", f"/v1/fairs/{fair}/employers:import", token, data=form
    )
    assert (status, body["fields"]) == (400, ["file"]), body
    assert await count(db, "employers", fair) == 0
    status, _ = await gateway.request("POST", f"/v1/fairs/{fair}/devices:import", token, data=b"")
    assert status == 404


async def test_only_the_organizer_of_the_fair_imports(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair("A")
    _, other_organizer = await gateway.create_fair("B")
    device = (await gateway.create(fair, token, "devices", label="Gate 1"))["token"]
    employer = (await gateway.create(fair, token, "employers", name="E"))["token"]
    data = b"name\nSomeone\n"
    for caller in (device, employer, other_organizer):
        status, body = await upload(gateway, fair, caller, "seekers", data)
        assert (status, body["error"]) == (403, "forbidden"), body
    assert (await upload(gateway, fair, None, "seekers", data))[0] == 401
    status, body = await upload(gateway, fair, "fho_nope", "seekers", data)
    assert status == 401
    status, body = await gateway.request(  # the admin token may import too
        "POST", f"/v1/fairs/{fair}/seekers:import", data=data
    )
    assert (status, body["created"]) == (200, 1), body


async def test_a_failure_in_the_transaction_leaves_nothing_behind(
    gateway: Gateway, db: asyncpg.Connection, database_url: str
) -> None:
    fair, token = await gateway.create_fair()
    text = "name\n甲公司\n乙公司\n丙公司\n".encode()
    # Another client creates 乙公司 while the import runs: the import's name check cannot
    # see it yet, its insert waits on the unique index, then fails once the other commits.
    other = await asyncpg.connect(database_url)
    try:
        racing = other.transaction()
        await racing.start()
        await other.execute(
            "INSERT INTO employers (fair_id, id, name) VALUES ($1, 'racer', '乙公司')", fair
        )
        task = asyncio.create_task(upload(gateway, fair, token, "employers", text))
        deadline = time.monotonic() + 30
        while not await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ):
            assert time.monotonic() < deadline and not task.done(), "the import did not wait"
            await asyncio.sleep(0.02)
        await racing.commit()
        status, body = await task
    finally:
        await other.close()
    assert (status, body["error"]) == (409, "conflict"), body
    names = await db.fetch("SELECT name FROM employers WHERE fair_id = $1", fair)
    assert [r["name"] for r in names] == ["乙公司"]
    employer_tokens = await db.fetchval(
        "SELECT count(*) FROM tokens WHERE fair_id = $1 AND role = 'employer'", fair
    )
    assert employer_tokens == 0
    status, body = await upload(gateway, fair, token, "employers", text)  # upload again
    assert (status, body["created"], [e["line"] for e in body["errors"]]) == (200, 2, [3])
    assert await count(db, "employers", fair) == 3


async def test_2300_positions_for_80_employers_in_one_request(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    employers = "单位名称,展位号,行业\n" + "".join(
        f"第{n:02d}号科技有限公司,A{n:02d},信息技术\n" for n in range(80)
    )
    status, body = await upload(gateway, fair, token, "employers", employers.encode("utf-8-sig"))
    assert (status, body["created"], body["errors"]) == (200, 80, []), body
    lines = ["单位名称,岗位名称,岗位类别,招聘人数,岗位描述"]
    lines += [
        f'第{n % 80:02d}号科技有限公司,岗位{n},全职,{n % 7},"负责,第 {n} 号岗位"'
        for n in range(2300)
    ]
    data = "\r\n".join(lines).encode("gb18030")

    started = time.perf_counter()
    status, body = await upload(gateway, fair, token, "positions", data)
    elapsed = time.perf_counter() - started

    print(f"\n2,300 positions ({len(data)} bytes, GB18030) imported in {elapsed:.3f}s")
    assert (status, body["created"], body["errors"]) == (200, 2300, []), body
    assert await count(db, "positions", fair) == 2300
    per_employer = await db.fetch(
        "SELECT count(*) AS n FROM positions WHERE fair_id = $1 GROUP BY employer_id", fair
    )
    assert sorted({r["n"] for r in per_employer}) == [28, 29]
