"""Alliances: the secretary's token, members joining and leaving, CSV import, members-only fairs,
and the training menu on a phone, searched in Chinese and signed up to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp
import asyncpg
from playwright.async_api import Page, expect
from support import Gateway, WorkerTask, event, eventually

if TYPE_CHECKING:
    from browser import Console

pytest_plugins = ["browser"]  # Chromium fixtures: phone, phone_console

JOINED = "2026-01-01"


async def new_alliance(gateway: Gateway, **rules: Any) -> tuple[str, str]:
    status, body = await gateway.request(
        "POST", "/v1/alliances", json={"name": "镇江技工教育集团", "region": "镇江", **rules}
    )
    assert status == 201, body
    assert body["secretary_token"].startswith("fha_")
    return body["id"], body["secretary_token"]


async def member(gateway: Gateway, alliance: str, token: str, **fields: Any) -> str:
    fields.setdefault("joined_at", JOINED)
    status, body = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/members", token, json=fields
    )
    assert status == 201, body
    return str(body["id"])


async def test_secretary_members_and_import(gateway: Gateway) -> None:
    fair, organizer = await gateway.create_fair()
    status, err = await gateway.request("POST", "/v1/alliances", organizer, json={"name": "x"})
    assert (status, err["fields"]) == (403, ["Authorization"])
    alliance, secretary = await new_alliance(gateway)
    other, other_secretary = await new_alliance(gateway)

    school = await member(
        gateway, alliance, secretary, kind="technical_school", name="镇江技师学院"
    )
    status, err = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/members", secretary,
        json={"kind": "technical_school", "name": "镇江技师学院"},
    )  # fmt: skip
    assert (status, err["fields"]) == (409, ["name"])
    status, err = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/members", secretary, json={"kind": "bank", "name": "x"}
    )
    assert (status, err["fields"]) == (422, ["kind"])
    # A secretary's token is its alliance's only; a fair's token is no secretary's.
    status, _ = await gateway.request("GET", f"/v1/alliances/{alliance}", other_secretary)
    assert status == 403
    status, _ = await gateway.request("GET", f"/v1/alliances/{alliance}", organizer)
    assert status == 403
    status, _ = await gateway.request("GET", f"/v1/fairs/{fair}/employers", secretary)
    assert status == 403

    # Excel's Chinese CSV: GB18030, Chinese headers and kinds; a bad line is answered alone.
    sheet = (
        "名称,类型,加入日期,职工人数\n丹阳精工,企业,2026-03-01,250\n某协会,协会,,\n坏行,银行,,\n"
    )
    status, report = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/members:import", secretary,
        data=sheet.encode("gb18030"), headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert status == 200, report
    assert [c["name"] for c in report["created"]] == ["丹阳精工", "某协会"]
    assert [e["line"] for e in report["errors"]] == [4]
    # The same as an upload form; names already members are answered by line.
    form = aiohttp.FormData()
    form.add_field("file", "名称,类型\n某协会,协会\n新学校,学校\n".encode(), filename="m.csv")
    status, report = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/members:import", secretary, data=form
    )
    assert status == 200, report
    assert [c["name"] for c in report["created"]] == ["新学校"]
    assert [e["line"] for e in report["errors"]] == [2]
    status, err = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/members:import", secretary,
        data=b"just,words\n1,2\n", headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert (status, err["fields"]) == (422, ["file"])

    # Leaving: the member stays in the list, but not among the members of a later day.
    status, _ = await gateway.request(
        "DELETE", f"/v1/alliances/{alliance}/members/{school}?left_at=2026-06-30", secretary
    )
    assert status == 204
    path = f"/v1/alliances/{alliance}/members"
    status, listed = await gateway.request("GET", path, secretary)
    assert {m["name"] for m in listed["items"]} == {"镇江技师学院", "丹阳精工", "某协会", "新学校"}
    status, later = await gateway.request("GET", path + "?on=2026-07-01", secretary)
    assert [m["name"] for m in later["items"]] == ["丹阳精工"]  # the others joined today
    status, earlier = await gateway.request("GET", path + "?on=2026-02-01", secretary)
    assert [m["name"] for m in earlier["items"]] == ["镇江技师学院"]
    status, err = await gateway.request("GET", path + "?on=yesterday", secretary)
    assert (status, err["fields"]) == (422, ["on"])
    status, _ = await gateway.request("GET", f"/v1/alliances/{other}/members", secretary)
    assert status == 403


async def test_members_only_fair(
    gateway: Gateway, worker: WorkerTask, db: asyncpg.Connection
) -> None:
    alliance, secretary = await new_alliance(gateway)
    fair, organizer = await gateway.create_fair("武进校企联盟招聘会")
    byd = await member(gateway, alliance, secretary, kind="enterprise", name="常州精密")
    gone = await member(gateway, alliance, secretary, kind="enterprise", name="武进机械")
    status, _ = await gateway.request(
        "DELETE", f"/v1/alliances/{alliance}/members/{gone}?left_at=2026-10-01", secretary
    )
    assert status == 204
    status, linked = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary,
        json={"fair_id": fair, "members_only": True},
    )  # fmt: skip
    assert status == 200, linked

    # A member is linked by its name; one member's figures add up across the alliance's fairs.
    first = await gateway.create(fair, organizer, "employers", name="常州精密")
    assert first["member_id"] == byd
    status, err = await gateway.request(
        "POST", f"/v1/fairs/{fair}/employers", organizer, json={"name": "外地公司"}
    )
    assert (status, err["error"], err["fields"]) == (422, "not_a_member", ["name"])
    assert "外地公司" in err["detail"]
    # A member that left before the fair's day is no member for it (the fair is on 2026-11-21).
    status, err = await gateway.request(
        "POST", f"/v1/fairs/{fair}/employers", organizer, json={"name": "武进机械"}
    )
    assert (status, err["fields"]) == (422, ["name"])
    status, err = await gateway.request(
        "POST", f"/v1/fairs/{fair}/employers", organizer,
        json={"name": "武进机械二厂", "member_id": gone},
    )  # fmt: skip
    assert (status, err["fields"]) == (422, ["member_id"])
    assert "left the alliance on 2026-10-01" in err["detail"]

    # An import is held to the same rule, row by row: a member is linked, others are refused.
    csv = "企业名称,展位号\n常州精密二厂,B01\n外地公司,B02\n".encode()
    plant = await member(gateway, alliance, secretary, kind="enterprise", name="常州精密二厂")
    status, report = await gateway.request(
        "POST", f"/v1/fairs/{fair}/employers:import", organizer, data=csv,
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert status == 200, report
    assert [e["name"] for e in report["employers"]] == ["常州精密二厂"]
    assert [(e["line"], e["field"]) for e in report["errors"]] == [(3, "企业名称")]
    assert "外地公司" in report["errors"][0]["error"] and "联盟" in report["errors"][0]["error"]
    imported = report["employers"][0]["id"]
    status, listed = await gateway.request("GET", f"/v1/fairs/{fair}/employers", organizer)
    assert {e["name"] for e in listed["items"]} == {"常州精密", "常州精密二厂"}
    linked = "SELECT member_id FROM employers WHERE fair_id = $1 AND id = $2"
    assert await db.fetchval(linked, fair, imported) == plant

    # A fair of no alliance registers anyone, as before, and refuses a member_id.
    plain, plain_token = await gateway.create_fair("普通招聘会")
    assert set(await gateway.create(plain, plain_token, "employers", name="外地公司")) == {
        "id",
        "token",
    }
    status, err = await gateway.request(
        "POST", f"/v1/fairs/{plain}/employers", plain_token, json={"name": "乙", "member_id": byd}
    )
    assert (status, err["fields"]) == (422, ["member_id"])
    # A second fair of the alliance, open to all: the same member's figures add up.
    second, second_token = await gateway.create_fair("武进直播招聘会")
    status, _ = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary, json={"fair_id": second}
    )
    again = await gateway.create(second, second_token, "employers", name="常州精密")
    outsider = await gateway.create(second, second_token, "employers", name="外地公司")
    assert again["member_id"] == byd and "member_id" not in outsider
    await gateway.post(fair, organizer, [event("consultation", employer_id=first["id"])])
    await gateway.post(
        second,
        second_token,
        [event("consultation", employer_id=again["id"]) for _ in range(2)]
        + [event("consultation", employer_id=outsider["id"])],
    )

    # Hires recorded at the fairs by the organizer or the employer itself count for the member.
    s1 = await gateway.create(fair, organizer, "seekers", name="周一")
    s2 = await gateway.create(second, second_token, "seekers", name="吴二")
    hire = event("hired", employer_id=first["id"], seeker_id=s1["id"], occupation="钳工")
    [result] = await gateway.post(fair, organizer, [hire])
    assert result["status"] == "accepted"
    own = event("hired", employer_id=again["id"], seeker_id=s2["id"], channel="livestream")
    assert (await gateway.post(second, again["token"], [own]))[0]["status"] == "accepted"
    other_hire = event("hired", employer_id=outsider["id"], seeker_id=s2["id"])
    [refused] = (
        await gateway.request(
            "POST", f"/v1/fairs/{second}/events", again["token"], json={"events": [other_hire]}
        )
    )[1]["results"]
    assert refused["status"] == "rejected"

    async def added_up() -> bool:
        stats = await alliance_stats(gateway, alliance, secretary)
        at_fairs = {m["id"]: m["at_fairs"] for m in stats["by_member"]}
        return bool(
            at_fairs[byd].get("consultations", {}).get("total") == 3
            and at_fairs[byd].get("hires") == {"total": 2, "unique": 2}
        )

    await eventually(added_up)
    assert (await gateway.stats(fair, organizer))["totals"]["hires"] == {"total": 1, "unique": 1}
    # The member's employer posts its own demand with its fair token, nobody else's.
    demand = {"member_id": byd, "occupation": "钳工", "category": "skilled", "headcount": 5}
    path = f"/v1/alliances/{alliance}/demands"
    status, made = await gateway.request("POST", path, first["token"], json=demand)
    assert status == 201, made
    status, err = await gateway.request("POST", path, outsider["token"], json=demand)
    assert (status, err["fields"]) == (403, ["Authorization"])
    other = await member(gateway, alliance, secretary, kind="enterprise", name="别家")
    status, err = await gateway.request(
        "POST", path, first["token"], json={**demand, "member_id": other}
    )
    assert (status, err["fields"]) == (403, ["member_id"])
    status, err = await gateway.request("GET", path, first["token"])
    assert status == 403  # reading the alliance's demand is the secretary's
    status, got = await gateway.request("GET", f"/v1/alliances/{alliance}", secretary)
    assert sorted(got["fair_ids"]) == sorted([fair, second])
    assert (got["internship_share"], got["internship_subsidy"]) == (0.02, 300)


async def menu(gateway: Gateway, alliance: str, **query: str) -> str:
    status, page = await gateway.request(
        "GET", f"/a/{alliance}/menu?{urlencode(query)}", token=None
    )
    assert status == 200
    assert isinstance(page, str)
    return page


async def test_menu_page_search_and_signup(gateway: Gateway, worker: WorkerTask) -> None:
    alliance, secretary = await new_alliance(gateway)
    school = await member(
        gateway, alliance, secretary, kind="training_institution", name="丹徒职业培训学校"
    )
    factory = await member(gateway, alliance, secretary, kind="enterprise", name="镇江船厂")
    status, demand = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/demands", secretary,
        json={"member_id": factory, "occupation": "焊工", "category": "skilled", "headcount": 30},
    )  # fmt: skip
    assert status == 201, demand
    offers = {}
    for occupation, region, kind, extra in (
        ("电焊工", "丹徒区", "project_class", {"demand_ids": [demand["id"]]}),
        ("养老护理员", "京口区", "subsidised", {"subsidy_per_trainee": 1200}),
        ("车工", "丹徒区", "certification", {"credit_stars": 4}),
    ):
        status, made = await gateway.request(
            "POST", f"/v1/alliances/{alliance}/offers", secretary,
            json={"member_id": school, "occupation": occupation, "region": region,
                  "kind": kind, "seats": 40, **extra},
        )  # fmt: skip
        assert status == 201, made
        offers[occupation] = made["id"]
    # A project class is built on demand; the enterprise behind it is named.
    assert made["enterprise_ids"] == [] and offers["电焊工"]
    status, err = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/offers", secretary,
        json={"member_id": factory, "occupation": "钳工", "kind": "subsidised", "seats": 1},
    )  # fmt: skip
    assert (status, err["fields"]) == (422, ["member_id"])

    # Chinese substrings: two characters of an occupation, of a region, or both.
    page = await menu(gateway, alliance, occupation="焊工")
    assert "电焊工" in page and "养老护理员" not in page and "车工" not in page
    page = await menu(gateway, alliance, region="丹徒")
    assert "电焊工" in page and "车工" in page and "养老护理员" not in page
    page = await menu(gateway, alliance, occupation="护理", region="京口")
    assert "养老护理员" in page and "补贴 1200 元/人" in page
    assert "没有符合的课程" in await menu(gateway, alliance, occupation="护理", region="丹徒")
    page = await menu(gateway, alliance, occupation="<script>")
    assert "<script>alert" not in page and "&lt;script&gt;" in page

    # A seeker signs up from the page: a form with name and phone, then the same JSON way.
    path = f"/a/{alliance}/menu/signup"
    status, done = await gateway.request(
        "POST", path, token=None,
        data={"offer_id": offers["电焊工"], "name": "王五", "phone": "13800138000"},
    )  # fmt: skip
    assert status == 201 and "报名成功" in done
    status, answer = await gateway.request(
        "POST", path, token=None,
        json={"offer_id": offers["电焊工"], "name": "王五", "phone": "+86 138 0013 8000"},
    )  # fmt: skip
    assert status == 201, answer
    status, err = await gateway.request(
        "POST", path, token=None, json={"offer_id": offers["车工"], "name": "赵六"}
    )
    assert (status, err["fields"]) == (422, ["phone"])
    status, err = await gateway.request(
        "POST", path, token=None, json={"offer_id": "nope", "name": "赵六", "phone": "13900000000"}
    )
    assert (status, err["fields"]) == (422, ["offer_id"])

    # A seeker of one of the alliance's fairs signs up with the sign-in of the phone sign-up.
    fair, organizer = await gateway.create_fair()
    status, _ = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary, json={"fair_id": fair}
    )
    status, seeker = await gateway.request(
        "POST", f"/p/{fair}/signup", token=None,
        json={"name": "钱七", "phone": "13700000000", "consent": True},
    )  # fmt: skip
    assert status == 201, seeker
    status, answer = await gateway.request(
        "POST", path, seeker["token"], json={"offer_id": offers["车工"]}
    )
    assert status == 201, answer

    async def counted() -> bool:
        stats = await alliance_stats(gateway, alliance, secretary)
        return stats["totals"]["training_signups"] == {"total": 3, "unique": 2}

    await eventually(counted)
    stats = await alliance_stats(gateway, alliance, secretary)
    by_offer = {o["occupation"]: o for o in stats["by_offer"]}
    assert by_offer["电焊工"]["training_signups"] == {"total": 2, "unique": 1}
    assert by_offer["车工"]["training_signups"] == {"total": 1, "unique": 1}
    rows = await gateway.request("GET", f"/v1/alliances/{alliance}/stats", organizer)
    assert rows[0] == 403


async def alliance_stats(gateway: Gateway, alliance: str, token: str) -> dict[str, Any]:
    status, body = await gateway.request("GET", f"/v1/alliances/{alliance}/stats", token)
    assert status == 200, body
    return dict(body)


async def test_menu_searched_in_chinese_in_the_browser(
    gateway: Gateway, worker: WorkerTask, phone: Page, phone_console: Console
) -> None:
    alliance, secretary = await new_alliance(gateway)
    school = await member(
        gateway, alliance, secretary, kind="training_institution", name="京口培训中心"
    )
    for occupation, region in (("焊工", "丹徒区"), ("钳工", "丹徒区"), ("养老护理员", "京口区")):
        status, _ = await gateway.request(
            "POST", f"/v1/alliances/{alliance}/offers", secretary,
            json={"member_id": school, "occupation": occupation, "region": region,
                  "kind": "subsidised", "seats": 20, "credit_stars": 3},
        )  # fmt: skip
        assert status == 201

    await phone.goto(f"{gateway.base}/a/{alliance}/menu")
    await expect(phone.locator("#offers .title")).to_have_count(3)
    # Typed with a Chinese keyboard: a substring of the occupation, then of the region.
    await phone.locator("input[name=occupation]").fill("焊")
    await phone.get_by_role("button", name="搜索").click()
    await expect(phone.locator("#offers .title")).to_have_count(1)
    await expect(phone.locator("#offers .title")).to_contain_text("焊工")
    await phone.locator("input[name=occupation]").fill("")
    await phone.locator("input[name=region]").fill("丹徒")
    await phone.get_by_role("button", name="搜索").click()
    await expect(phone.locator("#offers .title")).to_have_count(2)

    # The seeker signs up to the first offer from the page.
    first = phone.locator("#offers li").first
    await first.locator("input[name=name]").fill("孙八")
    await first.locator("input[name=phone]").fill("13600000000")
    await first.get_by_role("button", name="报名").click()
    await expect(phone.locator("h1")).to_have_text("报名成功")
    assert phone_console.problems() == []

    async def counted() -> bool:
        stats = await alliance_stats(gateway, alliance, secretary)
        return bool(stats["totals"]["training_signups"] == {"total": 1, "unique": 1})

    await eventually(counted)
