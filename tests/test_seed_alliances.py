"""The seed alliances loaded through the API give the figures their organizers published."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import asyncpg
from support import ADMIN_TOKEN, Gateway

from fairhub import seeds
from fairhub.seeds.command import seed
from fairhub.simulate.client import Api

SCHOOLS = ("school", "technical_school", "vocational_school")


async def listed(gateway: Gateway, alliance: seeds.Loaded, what: str) -> list[dict[str, Any]]:
    status, answer = await gateway.request(
        "GET", f"/v1/alliances/{alliance.id}/{what}", alliance.secretary
    )
    assert status == 200, answer
    return list(answer["items"])


async def kinds(gateway: Gateway, alliance: seeds.Loaded, on: str) -> Counter[str]:
    return Counter(m["kind"] for m in await listed(gateway, alliance, f"members?on={on}"))


async def test_the_seeds_give_the_cited_totals(gateway: Gateway, db: asyncpg.Connection) -> None:
    async with Api.open(gateway.base, 4) as api:
        loaded = {a.seed.slug: a for a in await seeds.load(api, ADMIN_TOKEN, note=lambda _: None)}
    today = date.today().isoformat()

    # Wujin: founded by 16 schools and 50 enterprises on one day; its fair of 80 members.
    wujin = loaded["wujin"]
    founding = await kinds(gateway, wujin, "2017-06-16")
    assert sum(founding[k] for k in SCHOOLS) == 16 and founding["enterprise"] == 50
    assert (await kinds(gateway, wujin, today))["enterprise"] == 80
    assert wujin.fair is not None
    linked = await db.fetchval(
        "SELECT count(*) FROM employers WHERE fair_id = $1 AND member_id IS NOT NULL",
        wujin.fair["id"],
    )
    assert linked == len(wujin.fair["employers"]) == 80

    # Zibo: 7 + 8 + 9 + 126 today; members joined this year and others left.
    zibo = loaded["zibo"]
    now = await kinds(gateway, zibo, today)
    assert (now["technical_school"], now["vocational_school"]) == (7, 8)
    assert (now["association"], now["enterprise"]) == (9, 126)
    members = await listed(gateway, zibo, "members")
    assert sum(1 for m in members if m["left_at"]) == 6
    assert (await kinds(gateway, zibo, "2025-12-31"))["enterprise"] < 126
    staff = {m["staff"] for m in members if m["kind"] == "enterprise"}
    assert min(staff) <= 50 and max(staff) >= 1000  # 2 % is one intern for some, 20+ for others

    # Zhenjiang: demand per category, the most wanted, the menu's seats and project classes.
    zhenjiang = loaded["zhenjiang"]
    demands = await listed(gateway, zhenjiang, "demands")
    per_category: Counter[str] = Counter()
    per_skill: Counter[str] = Counter()
    for d in demands:
        per_category[d["category"]] += d["headcount"]
        if d["category"] == "skilled":
            per_skill[d["occupation"]] += d["headcount"]
    assert per_category == {"technical": 611, "skilled": 1345}
    assert {o for o, _ in per_skill.most_common(4)} == {"钳工", "车工", "焊工", "养老护理员"}
    offers = await listed(gateway, zhenjiang, "offers")
    assert len({o["member_id"] for o in offers}) == 30
    assert sum(o["seats"] for o in offers if o["kind"] != "project_class") == 3607
    classes = [o for o in offers if o["kind"] == "project_class"]
    assert len(classes) == 3 and sum(o["seats"] for o in classes) == 102
    assert len({e for o in classes for e in o["enterprise_ids"]}) == 12
    headcount = {d["id"]: d["headcount"] for d in demands}
    assert sum(headcount[i] for o in classes for i in o["demand_ids"]) == 88

    # Baotou: 55 employers, 371 posts.
    baotou = loaded["baotou"]
    assert (await kinds(gateway, baotou, today))["enterprise"] == 55
    assert sum(d["headcount"] for d in await listed(gateway, baotou, "demands")) == 371
    assert {d["member_id"] for d in await listed(gateway, baotou, "demands")} == {
        m["id"] for m in loaded["baotou"].members.values() if m["kind"] == "enterprise"
    }


async def test_the_command_prints_each_alliance_and_a_scaled_copy_holds_together(
    gateway: Gateway, capsys: Any
) -> None:
    args = type("Args", (), {"only": ["zhenjiang"], "scale": 0.1})()
    assert await seed(gateway.base, ADMIN_TOKEN, args) == 0  # type: ignore[arg-type]
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("镇江技能人才培养联盟: id "))
    assert "secretary token fha_" in line
    bad = type("Args", (), {"only": None, "scale": 1.0})()
    assert await seed(gateway.base, "not-the-admin-token", bad) == 1  # type: ignore[arg-type]
    assert "failed" in capsys.readouterr().err


def test_a_scaled_copy_keeps_every_kind_and_the_project_classes_whole() -> None:
    by_slug = {s.slug: s for s in seeds.SEEDS}
    small = seeds.sheets_of(by_slug["zhenjiang"], 0.1)
    names = {row[0] for row in small["members"].rows}
    assert 10 < len(names) < 40
    classes = [r for r in small["offers"].rows if r[3] == "订单班"]
    assert len(classes) == 3
    firms = {f for r in classes for f in r[9].split("、")}
    assert len(firms) == 12 and firms <= names
    assert {r[0] for r in small["demands"].rows} <= names
    assert {r[0] for r in small["offers"].rows} <= names
    zibo_members = seeds.sheets_of(by_slug["zibo"], 0.05)["members"].rows
    assert {r[1] for r in zibo_members} == {"技工院校", "职业院校", "行业协会", "企业"}
    assert any(r[4] for r in zibo_members)  # one that left, for the refused references
