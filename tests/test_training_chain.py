"""The chain after the fair, replayed with resends and bad references: every figure exact per
member, occupation, offer and channel; the subsidy rules at and around the 2 % threshold."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from support import Gateway, WorkerTask, event, eventually
from test_alliances import alliance_stats, member, new_alliance

from fairhub.gateway.alliance_stats import internship_subsidy

METRIC_OF = {
    "training_signup": "training_signups",
    "training_completed": "training_completions",
    "skill_certified": "certifications",
    "internship_started": "internships",
    "hired": "hires",
}


async def fair_seekers(gateway: Gateway, alliance: str, secretary: str, n: int) -> list[str]:
    """`n` seekers of a new fair of the alliance: the persons events may name by seeker_id."""
    fair, organizer = await gateway.create_fair()
    status, body = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary, json={"fair_id": fair}
    )
    assert status == 200, body
    return [
        (await gateway.create(fair, organizer, "seekers", name=f"学员{k}"))["id"] for k in range(n)
    ]


def person(e: dict[str, Any]) -> str:
    return e.get("seeker_id") or "".join(c for c in e["phone"] if c.isdigit())[-11:]


class Oracle:
    """The figures the accepted events must give, counted the obvious way."""

    def __init__(self) -> None:
        self.seen: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.total: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, e: dict[str, Any], member_id: str, occupation: str | None) -> None:
        metric = METRIC_OF[e["type"]]
        keys = [("all", ""), ("member", member_id), ("offer", e.get("offer_id") or "")]
        if occupation:
            keys.append(("occupation", occupation))
        if e["type"] == "hired":
            keys.append(("channel", e["channel"]))
        for dim, dim_id in keys:
            self.total[(metric, f"{dim}:{dim_id}")] += 1
            self.seen[(metric, f"{dim}:{dim_id}")].add(person(e))

    def get(self, metric: str, where: str) -> dict[str, int]:
        return {"total": self.total[(metric, where)], "unique": len(self.seen[(metric, where)])}


def test_internship_rule_at_and_around_two_percent() -> None:
    share, amount = Decimal("0.02"), Decimal(300)
    assert internship_subsidy(1, 100, share, amount) == 0  # 1 %
    assert internship_subsidy(2, 100, share, amount) == 600  # exactly 2 %
    assert internship_subsidy(3, 100, share, amount) == 900
    assert internship_subsidy(2, 150, share, amount) == 0  # 1.33 %
    assert internship_subsidy(3, 150, share, amount) == 900  # exactly 2 %
    assert internship_subsidy(4, 201, share, amount) == 0  # 1.99 %
    assert internship_subsidy(5, 201, share, amount) == 1500
    assert internship_subsidy(3, None, share, amount) == 0  # no declared staff, no subsidy
    assert internship_subsidy(3, 0, share, amount) == 0


async def test_chain_replayed_exactly(gateway: Gateway, worker: WorkerTask) -> None:
    alliance, secretary = await new_alliance(gateway)
    school = await member(gateway, alliance, secretary, kind="training_institution", name="培训A")
    college = await member(gateway, alliance, secretary, kind="vocational_school", name="职校")
    welders = await member(gateway, alliance, secretary, kind="enterprise", name="船厂", staff=100)
    care = await member(gateway, alliance, secretary, kind="enterprise", name="养老院", staff=250)
    gone = await member(gateway, alliance, secretary, kind="enterprise", name="旧厂", staff=10)
    status, _ = await gateway.request(
        "DELETE", f"/v1/alliances/{alliance}/members/{gone}?left_at=2026-11-01", secretary
    )
    assert status == 204

    async def post_json(path: str, body: dict[str, Any]) -> str:
        status, made = await gateway.request(
            "POST", f"/v1/alliances/{alliance}/{path}", secretary, json=body
        )
        assert status == 201, made
        return str(made["id"])

    await post_json(
        "demands",
        {"member_id": welders, "occupation": "焊工", "category": "skilled", "headcount": 20},
    )
    await post_json(
        "demands",
        {"member_id": care, "occupation": "养老护理员", "category": "technical", "headcount": 7},
    )
    weld = await post_json(
        "offers",
        {"member_id": school, "occupation": "焊工", "kind": "subsidised", "seats": 30,
         "subsidy_per_trainee": 1000},
    )  # fmt: skip
    nurse = await post_json(
        "offers",
        {"member_id": school, "occupation": "养老护理员", "kind": "certification", "seats": 12,
         "subsidy_per_trainee": 800},
    )  # fmt: skip
    occupation_of = {weld: "焊工", nurse: "养老护理员"}
    # A seeker named by id is one of the alliance's fairs' (tests/test_alliance_refs.py).
    [seeker] = await fair_seekers(gateway, alliance, secretary, 1)

    p = [f"1390000000{n}" for n in range(8)]
    good = [
        event("training_signup", 0, offer_id=weld, phone=p[0]),
        event("training_signup", 1, offer_id=weld, phone="+86 " + p[0]),  # the same person
        event("training_signup", 2, offer_id=weld, seeker_id=seeker),
        event("training_signup", 3, offer_id=nurse, phone=p[1]),
        event("training_signup", 4, offer_id=nurse, phone=p[2]),
        event("training_completed", 60, offer_id=weld, phone=p[0]),
        event("training_completed", 61, offer_id=weld, seeker_id=seeker),
        event("training_completed", 62, offer_id=nurse, phone=p[1]),
        event("skill_certified", 90, offer_id=weld, occupation="焊工", level="四级", phone=p[0]),
        event("skill_certified", 91, occupation="养老护理员", level="五级", phone=p[1]),
        # Internships: the shipyard (staff 100) takes 2 in one semester (2 %), 1 in the next.
        event("internship_started", 5, member_id=welders, semester="2026-1", phone=p[3]),
        event("internship_started", 6, member_id=welders, semester="2026-1", phone=p[4]),
        event("internship_started", 7, member_id=welders, semester="2026-2", phone=p[3]),
        # The care home (staff 250): 4 interns (1.6 %), none of them paid for.
        *[
            event("internship_started", 8 + n, member_id=care, semester="2026-1", phone=p[n])
            for n in range(4)
        ],
        event("hired", 120, member_id=welders, occupation="焊工", channel="training", phone=p[0]),
        event("hired", 121, member_id=welders, channel="internship", phone=p[3]),
        event("hired", 122, member_id=care, occupation="养老护理员", channel="fair", phone=p[1]),
        event("hired", 123, member_id=care, channel="fair", phone=p[5]),
        event("hired", 124, member_id=care, channel="livestream", phone=p[5]),  # again
    ]
    bad = [
        (event("training_signup", 0, offer_id="no-such-offer", phone=p[6]), "offer_id"),
        (event("hired", 0, member_id="no-such-member", channel="fair", phone=p[6]), "member_id"),
        # A school is no enterprise for an internship; a member that left hires no more.
        (event("internship_started", 0, member_id=college, semester="2026-1", phone=p[6]),
         "member_id"),
        (event("hired", 0, member_id=gone, channel="other", phone=p[6]), "member_id"),
        (event("hired", 0, member_id=care, channel="fair", fair_id="f-1", phone=p[6]), "fair_id"),
        (event("hired", 0, member_id=care, channel="radio", phone=p[6]), "channel"),
        (event("training_signup", 0, offer_id=weld), "one of seeker_id, phone"),
    ]  # fmt: skip
    path = f"/v1/alliances/{alliance}/events"
    mixed = good[:10] + [b for b, _ in bad] + good[10:]
    status, answer = await gateway.request("POST", path, secretary, json={"events": mixed})
    assert status == 202, answer
    results = {r["id"]: r for r in answer["results"]}
    assert all(results[e["id"]]["status"] == "accepted" for e in good)
    for wrong, field in bad:
        assert results[wrong["id"]]["status"] == "rejected"
        assert results[wrong["id"]]["reason"].startswith(field), results[wrong["id"]]
    # Resent whole, and one by one: all duplicates, nothing counted twice.
    status, again = await gateway.request("POST", path, secretary, json={"events": good})
    assert {r["status"] for r in again["results"]} == {"duplicate"}
    status, one = await gateway.request("POST", path, secretary, json=good[3])
    assert (status, one["results"][0]["status"]) == (202, "duplicate")
    status, err = await gateway.request("POST", path, secretary, json=bad[0][0])
    assert (status, err["fields"]) == (422, ["offer_id"])

    oracle = Oracle()
    for e in good:
        offer = e.get("offer_id")
        member_id = school if offer else e.get("member_id", "")
        oracle.add(e, member_id, e.get("occupation") or occupation_of.get(offer or ""))

    async def counted() -> bool:
        stats = await alliance_stats(gateway, alliance, secretary)
        return bool(stats["totals"]["hires"]["total"] == 5)

    await eventually(counted)
    stats = await alliance_stats(gateway, alliance, secretary)
    for metric in METRIC_OF.values():
        assert stats["totals"][metric] == oracle.get(metric, "all:"), metric
    by_member = {m["id"]: m for m in stats["by_member"]}
    for member_id in (school, welders, care, gone, college):
        for metric in METRIC_OF.values():
            assert by_member[member_id][metric] == oracle.get(metric, f"member:{member_id}")
    assert (by_member[welders]["demand"], by_member[school]["seats"]) == (20, 42)
    by_offer = {o["id"]: o for o in stats["by_offer"]}
    for offer in (weld, nurse):
        for metric in ("training_signups", "training_completions", "certifications"):
            assert by_offer[offer][metric] == oracle.get(metric, f"offer:{offer}"), metric
    by_occupation = {o["occupation"]: o for o in stats["by_occupation"]}
    for occupation in ("焊工", "养老护理员"):
        for metric in METRIC_OF.values():
            expected = oracle.get(metric, f"occupation:{occupation}")
            assert by_occupation[occupation][metric] == expected, (occupation, metric)
    assert (by_occupation["焊工"]["skilled"], by_occupation["养老护理员"]["technical"]) == (20, 7)
    assert stats["hires_by_channel"] == {
        channel: oracle.get("hires", f"channel:{channel}")
        for channel in ("training", "internship", "fair", "livestream")
    }
    # Training subsidy: completions (persons) x subsidy per trainee: 2 x 1000 + 1 x 800.
    assert (by_offer[weld]["training_subsidy"], by_offer[nurse]["training_subsidy"]) == (2000, 800)
    assert stats["training_subsidy"] == 2800
    subsidies = {(s["member_id"], s["semester"]): s for s in stats["subsidies"]}
    assert {k: (s["internship_posts"], s["amount"]) for k, s in subsidies.items()} == {
        (welders, "2026-1"): (2, 600),
        (welders, "2026-2"): (1, 0),
        (care, "2026-1"): (4, 0),
    }


async def test_rules_are_the_alliances_own(gateway: Gateway, worker: WorkerTask) -> None:
    alliance, secretary = await new_alliance(gateway, internship_share=0.05, internship_subsidy=500)
    firm = await member(gateway, alliance, secretary, kind="enterprise", name="小厂", staff=40)
    students = await fair_seekers(gateway, alliance, secretary, 2)
    interns = [
        event("internship_started", n, member_id=firm, semester="2026-1", seeker_id=seeker)
        for n, seeker in enumerate(students)
    ]
    status, answer = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/events", secretary, json={"events": interns}
    )
    assert status == 202, answer

    async def paid() -> bool:
        stats = await alliance_stats(gateway, alliance, secretary)
        return bool(stats["subsidies"]) and stats["subsidies"][0]["amount"] == 1000

    await eventually(paid)  # 2 of 40 staff is 5 %: 2 posts x 500 yuan
    status, err = await gateway.request(
        "POST", "/v1/alliances", json={"name": "x", "internship_share": -1}
    )
    assert (status, err["fields"]) == (422, ["internship_share"])
