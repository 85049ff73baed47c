"""Schools of an alliance's fairs link to its school members: by name (trimmed, any case) when
the school is created or its fair joins, or by hand; a school member's figures add up."""

from __future__ import annotations

from typing import Any

from support import Gateway, WorkerTask, event, eventually
from test_alliances import alliance_stats, member, new_alliance


async def join(gateway: Gateway, alliance: str, secretary: str, fair: str) -> None:
    status, body = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary, json={"fair_id": fair}
    )
    assert status == 200, body


async def schools(gateway: Gateway, fair: str, token: str) -> dict[str, Any]:
    """name -> school of the fair's list."""
    status, body = await gateway.request("GET", f"/v1/fairs/{fair}/schools", token)
    assert status == 200, body
    return {s["name"]: s for s in body["items"]}


async def seekers(gateway: Gateway, fair: str, token: str, school: str, n: int) -> list[str]:
    return [
        (await gateway.create(fair, token, "seekers", name=f"学生{k}", school=school))["id"]
        for k in range(n)
    ]


async def test_school_members_add_up(gateway: Gateway, worker: WorkerTask) -> None:
    alliance, secretary = await new_alliance(gateway)
    college = await member(gateway, alliance, secretary, kind="school", name="Changzhou Univ")
    vocational = await member(
        gateway, alliance, secretary, kind="vocational_school", name="武进职业技术学院"
    )
    firm = await member(gateway, alliance, secretary, kind="enterprise", name="常州精密")

    # The first fair joins, then its seekers name schools: linked as the school is created.
    first, first_token = await gateway.create_fair("武进校企联盟招聘会")
    await join(gateway, alliance, secretary, first)
    at_first = await seekers(gateway, first, first_token, "changzhou univ", 2)
    await seekers(gateway, first, first_token, "常州精密", 1)  # an enterprise is no school
    # The second fair's seekers come first; its schools are linked when it joins.
    second, second_token = await gateway.create_fair("武进直播招聘会")
    at_second = await seekers(gateway, second, second_token, "CHANGZHOU UNIV", 1)
    other_name = await seekers(gateway, second, second_token, "武进职院", 2)
    await join(gateway, alliance, secretary, second)

    listed = await schools(gateway, first, first_token)
    assert listed["changzhou univ"]["member_id"] == college
    assert listed["changzhou univ"]["member_name"] == "Changzhou Univ"
    assert listed["常州精密"]["member_id"] is None
    listed = await schools(gateway, second, secretary)
    assert listed["CHANGZHOU UNIV"]["member_id"] == college
    assert listed["武进职院"]["member_id"] is None  # another name: linked by hand only

    checkins = [event("checkin", n, seeker_id=s) for n, s in enumerate(at_first)]
    checkins.append(event("checkin", 30, seeker_id=at_first[0]))  # the same student again
    await gateway.post(first, first_token, checkins)
    await gateway.post(
        second,
        second_token,
        [event("checkin", n, seeker_id=s) for n, s in enumerate(at_second + other_name)],
    )

    async def at_fairs(member_id: str) -> dict[str, Any]:
        stats = await alliance_stats(gateway, alliance, secretary)
        return dict({m["id"]: m["at_fairs"] for m in stats["by_member"]}[member_id])

    async def college_counted() -> bool:
        return (await at_fairs(college)).get("checkins", {}).get("total") == 4

    await eventually(college_counted)
    # 3 check-ins at the first fair (2 students), 1 at the second: one member, added up.
    assert (await at_fairs(college))["checkins"] == {"total": 4, "unique": 3}
    assert "checkins" not in await at_fairs(vocational)

    # Linked by hand (the secretary here; the fair's organizer may too): its figures follow.
    school_id = listed["武进职院"]["id"]
    path = f"/v1/fairs/{second}/schools/{school_id}"
    status, linked = await gateway.request("PUT", path, secretary, json={"member_id": vocational})
    assert status == 200, linked
    assert (linked["member_id"], linked["member_kind"]) == (vocational, "vocational_school")

    async def vocational_counted() -> bool:
        return (await at_fairs(vocational)).get("checkins") == {"total": 2, "unique": 2}

    await eventually(vocational_counted)
    status, unlinked = await gateway.request("PUT", path, second_token, json={"member_id": None})
    assert (status, unlinked["member_id"]) == (200, None)

    # Wrong links are refused naming the field; others' tokens may not link.
    for wrong in (firm, "no-such-member"):
        status, err = await gateway.request("PUT", path, secretary, json={"member_id": wrong})
        assert (status, err["fields"]) == (422, ["member_id"]), err
    status, err = await gateway.request("PUT", path, secretary, json={})
    assert (status, err["fields"]) == (422, ["member_id"])
    status, err = await gateway.request(
        "PUT", f"/v1/fairs/{second}/schools/nope", secretary, json={"member_id": vocational}
    )
    assert (status, err["fields"]) == (404, ["school"])
    status, err = await gateway.request("PUT", path, first_token, json={"member_id": vocational})
    assert (status, err["fields"]) == (403, ["Authorization"])
    _, other_secretary = await new_alliance(gateway)
    status, _ = await gateway.request("GET", f"/v1/fairs/{second}/schools", other_secretary)
    assert status == 403
    # A fair of no alliance lists its schools but links them to nothing.
    plain, plain_token = await gateway.create_fair()
    await seekers(gateway, plain, plain_token, "Changzhou Univ", 1)
    plain_school = (await schools(gateway, plain, plain_token))["Changzhou Univ"]
    assert plain_school["member_id"] is None
    status, err = await gateway.request(
        "PUT", f"/v1/fairs/{plain}/schools/{plain_school['id']}", plain_token,
        json={"member_id": college},
    )  # fmt: skip
    assert (status, err["fields"]) == (422, ["member_id"])
