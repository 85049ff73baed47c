"""The secretary's spreadsheets: members, job demand and the training menu from CSV or xlsx,
errors by line in Chinese (or English) naming the column, and the templates to fill in."""

# Chinese texts use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import io

import aiohttp
from openpyxl import load_workbook
from support import Gateway
from test_alliances import member, new_alliance

from fairhub import alliance_sheets, xlsx

XLSX = {"Content-Type": xlsx.CONTENT_TYPE}
CSV = {"Content-Type": "text/csv"}


def workbook(kind: alliance_sheets.SheetKind, rows: list[list[object]]) -> bytes:
    return alliance_sheets.sheets_xlsx(kind, rows, [])


async def test_members_from_a_workbook_and_errors_in_chinese(gateway: Gateway) -> None:
    alliance, secretary = await new_alliance(gateway)
    path = f"/v1/alliances/{alliance}/members:import"
    rows: list[list[object]] = [
        ["名称", "类型", "加入日期", "职工人数", "退出日期"],
        ["镇江技师学院", "技工院校", "2026-02-01", None, None],
        ["丹阳精工", "企业", "2026-03-01", 250, None],
        ["坏行", "银行", None, None, None],
        ["丹阳精工", "企业", None, 10, None],
        ["旧船厂", "企业", "2021-03-01", 90, "2026-07-01"],
        ["早退公司", "企业", "2021-03-01", 90, "2020-07-01"],
    ]
    status, answer = await gateway.request(
        "POST", path, secretary, data=workbook("members", rows), headers=XLSX
    )
    assert status == 200, answer
    assert [(c["line"], c["name"]) for c in answer["created"]] == [
        (2, "镇江技师学院"),
        (3, "丹阳精工"),
        (6, "旧船厂"),
    ]
    assert answer["created"][2]["left_at"] == "2026-07-01"
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [
        (4, "类型"),
        (5, "名称"),
        (7, "退出日期"),
    ]
    assert "类型" in answer["errors"][0]["error"]
    assert "丹阳精工" in answer["errors"][1]["error"]
    status, listed = await gateway.request("GET", f"/v1/alliances/{alliance}/members", secretary)
    staff = {m["name"]: (m["kind"], m["staff"]) for m in listed["items"]}
    assert staff == {
        "镇江技师学院": ("technical_school", None),
        "丹阳精工": ("enterprise", 250),
        "旧船厂": ("enterprise", 90),
    }
    status, later = await gateway.request(
        "GET", f"/v1/alliances/{alliance}/members?on=2026-08-01", secretary
    )
    assert "旧船厂" not in {m["name"] for m in later["items"]}
    # English on request; a file without the columns is refused as a whole, naming the file.
    status, answer = await gateway.request(
        "POST", path + "?lang=en", secretary, data="名称,类型\nx,火箭\n".encode(), headers=CSV
    )
    assert "kind" in answer["errors"][0]["error"] and answer["errors"][0]["field"] == "类型"
    status, err = await gateway.request("POST", path, secretary, data=b"a,b\n1,2\n", headers=CSV)
    assert (status, err["fields"]) == (422, ["file"]) and "名称" in err["detail"]


async def test_demand_and_menu_from_spreadsheets(gateway: Gateway) -> None:
    alliance, secretary = await new_alliance(gateway)
    base = f"/v1/alliances/{alliance}"
    fitter = await member(gateway, alliance, secretary, kind="enterprise", name="镇江船厂")
    await member(gateway, alliance, secretary, kind="enterprise", name="丹徒焊接")
    await member(gateway, alliance, secretary, kind="training_institution", name="京口培训学校")
    demand_csv = (
        "用工需求表（2026年第三季度）\n"
        "企业名称,职业（工种）,需求类别,需求人数,地区\n"
        "镇江船厂,钳工,技能,12,京口区\n"
        "丹徒焊接,焊工,技能,8人,丹徒区\n"
        ",钳工,技术管理,3,\n"
        "京口培训学校,钳工,技能,2,\n"
        "无名公司,钳工,技能,2,\n"
        "丹徒焊接,焊工,技能,很多,\n"
    )
    status, answer = await gateway.request(
        "POST", f"{base}/demands:import", secretary, data=demand_csv.encode("gb18030"), headers=CSV
    )
    assert status == 200, answer
    assert [c["line"] for c in answer["created"]] == [3, 4]
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [
        (5, "企业名称"),
        (6, "企业名称"),
        (7, "企业名称"),
        (8, "需求人数"),
    ]
    assert answer["errors"][1]["error"] == "企业名称：“京口培训学校”是培训机构，不是企业"
    status, demands = await gateway.request("GET", f"{base}/demands", secretary)
    first = demands["items"][0]
    assert (first["member_id"], first["headcount"], first["category"]) == (
        fitter,
        12,
        "skilled",
    )

    menu: list[list[object]] = [
        [
            "培训机构",
            "职业（工种）",
            "培训类型",
            "培训名额",
            "地区",
            "信用星级",
            "每人补贴（元）",
            "订单企业",
        ],
        ["京口培训学校", "焊工", "政府补贴培训", 60, "京口区", "★★★★", 1200, None],
        ["京口培训学校", "钳工", "订单班", 15, "京口区", 5, 2000, "镇江船厂"],
        ["京口培训学校", "钳工", "订单班", 15, "京口区", 5, 2000, None],
        ["镇江船厂", "钳工", "技能等级认定", 15, None, None, None, None],
        ["京口培训学校", "电工", "订单班", 10, None, None, None, "丹徒焊接"],
        ["京口培训学校", "电工", "技能等级认定", -1, None, None, None, None],
    ]
    status, answer = await gateway.request(
        "POST", f"{base}/offers:import", secretary, data=workbook("offers", menu), headers=XLSX
    )
    assert status == 200, answer
    assert [c["line"] for c in answer["created"]] == [2, 3]
    assert answer["created"][1]["enterprise_ids"] == [fitter]
    assert [(e["line"], e["field"]) for e in answer["errors"]] == [
        (4, "订单企业"),
        (5, "培训机构"),
        (6, "订单企业"),
        (7, "培训名额"),
    ]
    assert "不能小于 0" in answer["errors"][3]["error"]
    status, offers = await gateway.request("GET", f"{base}/offers", secretary)
    shown = {(o["occupation"], o["kind"], o["seats"], o["credit_stars"]) for o in offers["items"]}
    assert shown == {("焊工", "subsidised", 60, 4), ("钳工", "project_class", 15, 5)}


async def test_templates_import_as_nothing_and_name_every_column(gateway: Gateway) -> None:
    alliance, secretary = await new_alliance(gateway)
    for kind in alliance_sheets.SHEET_KINDS:
        base = f"/v1/alliances/{alliance}/{kind}"
        async with gateway.session.get(
            f"{gateway.base}{base}:template.xlsx",
            headers={"Authorization": f"Bearer {secretary}"},
        ) as response:
            assert response.status == 200
            assert response.content_type == xlsx.CONTENT_TYPE
            book = await response.read()
        sheet = load_workbook(io.BytesIO(book)).worksheets[0]
        head = [c.value for c in next(sheet.iter_rows(max_row=1))]
        assert head == [c.header for c in alliance_sheets.COLUMNS[kind]]
        status, answer = await gateway.request(
            "POST", f"{base}:import", secretary, data=book, headers=XLSX
        )
        assert (status, answer["created"], answer["errors"]) == (200, [], []), answer
        async with gateway.session.get(
            f"{gateway.base}{base}:template.csv", headers={"Authorization": f"Bearer {secretary}"}
        ) as response:
            text = (await response.read()).decode("utf-8-sig")
        assert text.splitlines()[0].split(",")[0] == head[0]
        form = aiohttp.FormData()
        form.add_field("file", text.encode(), filename=f"{kind}.csv")
        status, answer = await gateway.request("POST", f"{base}:import", secretary, data=form)
        assert (status, answer["created"]) == (200, []), answer
    _, organizer = await gateway.create_fair()
    status, _ = await gateway.request(
        "GET", f"/v1/alliances/{alliance}/offers:template.csv", organizer
    )
    assert status == 403
