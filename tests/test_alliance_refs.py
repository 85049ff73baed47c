"""An alliance event's references are checked: its seeker is one of the alliance's fairs', its
position one of those fairs' and of the named member's employer, its fair one of the
alliance's; anything else is rejected naming the field, and good events count once."""

from __future__ import annotations

from typing import Any

from support import Gateway, WorkerTask, event, eventually
from test_alliances import alliance_stats, member, new_alliance


async def alliance_fair(gateway: Gateway, alliance: str, secretary: str) -> tuple[str, str]:
    """A new fair that joins the alliance: (fair, organizer token)."""
    fair, organizer = await gateway.create_fair()
    status, body = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary, json={"fair_id": fair}
    )
    assert status == 200, body
    return fair, organizer


async def position(gateway: Gateway, fair: str, organizer: str, employer: str) -> str:
    made = await gateway.create(
        fair, organizer, "positions", employer_id=employer, title="焊工", job_type="焊工",
        headcount=3,
    )  # fmt: skip
    return str(made["id"])


async def test_references_checked(gateway: Gateway, worker: WorkerTask) -> None:
    alliance, secretary = await new_alliance(gateway)
    yard = await member(gateway, alliance, secretary, kind="enterprise", name="镇江船厂")
    home = await member(gateway, alliance, secretary, kind="enterprise", name="养老院")
    fair, organizer = await alliance_fair(gateway, alliance, secretary)
    second, second_organizer = await alliance_fair(gateway, alliance, secretary)
    employer = await gateway.create(fair, organizer, "employers", name="镇江船厂")
    assert employer["member_id"] == yard
    outsider = await gateway.create(fair, organizer, "employers", name="外地公司")
    welder = await position(gateway, fair, organizer, employer["id"])
    outsiders_post = await position(gateway, fair, organizer, outsider["id"])
    seeker = (await gateway.create(fair, organizer, "seekers", name="周一"))["id"]
    other_seeker = (await gateway.create(second, second_organizer, "seekers", name="吴二"))["id"]

    # Another alliance's fair, seeker and position are not this alliance's.
    other, other_secretary = await new_alliance(gateway)
    their_yard = await member(gateway, other, other_secretary, kind="enterprise", name="船厂")
    foreign, foreign_organizer = await alliance_fair(gateway, other, other_secretary)
    theirs = await gateway.create(foreign, foreign_organizer, "employers", name="船厂")
    foreign_post = await position(gateway, foreign, foreign_organizer, theirs["id"])
    stranger = (await gateway.create(foreign, foreign_organizer, "seekers", name="郑三"))["id"]

    def hire(minute: int, **fields: Any) -> dict[str, Any]:
        fields.setdefault("member_id", yard)
        fields.setdefault("seeker_id", seeker)
        fields.setdefault("channel", "fair")
        return event("hired", minute, **fields)

    good = [
        hire(1, position_id=welder, fair_id=fair, occupation="焊工"),
        hire(2, seeker_id=other_seeker, member_id=home, fair_id=second, channel="livestream"),
        hire(3, phone="13900000001", seeker_id=None, position_id=welder),
    ]
    bad = [
        (hire(0, seeker_id="no-such-seeker"), "seeker_id"),
        (hire(0, seeker_id=stranger), "seeker_id"),
        (hire(0, position_id="no-such-position"), "position_id"),
        (hire(0, position_id=foreign_post), "position_id"),
        (hire(0, position_id=outsiders_post), "position_id"),  # not the member's employer's
        (hire(0, member_id=home, position_id=welder), "position_id"),  # another member's
        (hire(0, position_id=welder, fair_id=second), "position_id"),  # of another fair
        (hire(0, fair_id=foreign), "fair_id"),
        (hire(0, fair_id="no-such-fair"), "fair_id"),
    ]
    for e in good:
        if e["seeker_id"] is None:
            del e["seeker_id"]
    path = f"/v1/alliances/{alliance}/events"
    mixed = [good[0], *(b for b, _ in bad), *good[1:]]
    status, answer = await gateway.request("POST", path, secretary, json={"events": mixed})
    assert status == 202, answer
    results = {r["id"]: r for r in answer["results"]}
    assert [results[e["id"]]["status"] for e in good] == ["accepted"] * 3
    for wrong, field in bad:
        assert results[wrong["id"]]["status"] == "rejected", (field, wrong)
        assert results[wrong["id"]]["reason"].startswith(f"{field}: "), results[wrong["id"]]

    # One bad event alone: 422 naming its field, like every bad reference.
    status, err = await gateway.request("POST", path, secretary, json=bad[1][0])
    assert (status, err["fields"]) == (422, ["seeker_id"])
    # The other alliance's secretary may name its own seeker and position.
    status, answer = await gateway.request(
        "POST", f"/v1/alliances/{other}/events", other_secretary,
        json=event("hired", member_id=their_yard, seeker_id=stranger, position_id=foreign_post,
                   channel="fair"),
    )  # fmt: skip
    assert (status, answer["results"][0]["status"]) == (202, "accepted"), answer

    # Good ones resent, whole and one by one: counted once.
    status, again = await gateway.request("POST", path, secretary, json={"events": good})
    assert {r["status"] for r in again["results"]} == {"duplicate"}
    status, one = await gateway.request("POST", path, secretary, json=good[0])
    assert (status, one["results"][0]["status"]) == (202, "duplicate")

    async def counted() -> bool:
        stats = await alliance_stats(gateway, alliance, secretary)
        return bool(stats["totals"]["hires"]["total"] >= 3)

    await eventually(counted)
    stats = await alliance_stats(gateway, alliance, secretary)
    assert stats["totals"]["hires"] == {"total": 3, "unique": 3}
    by_member = {m["id"]: m for m in stats["by_member"]}
    assert by_member[yard]["hires"] == {"total": 2, "unique": 2}
    assert by_member[home]["hires"] == {"total": 1, "unique": 1}
    assert stats["hires_by_channel"] == {
        "fair": {"total": 2, "unique": 2},
        "livestream": {"total": 1, "unique": 1},
    }
