"""Intents: created by an employer or the organizer, listed per employer, counted once."""

from __future__ import annotations

import asyncio

from support import Gateway, WorkerTask, eventually, totals


async def test_intents(gateway: Gateway, worker: WorkerTask) -> None:
    fair, token = await gateway.create_fair()
    a = await gateway.create(fair, token, "employers", name="比亚迪")
    b = await gateway.create(fair, token, "employers", name="美团")
    position = await gateway.create(
        fair,
        token,
        "positions",
        employer_id=a["id"],
        title="电池工程师",
        job_type="制造",
        headcount=3,
    )
    s1 = await gateway.create(fair, token, "seekers", name="张三", school="复旦大学")
    s2 = await gateway.create(fair, token, "seekers", name="李四", school="同济大学")
    path = f"/v1/fairs/{fair}/intents"

    # An employer names the seeker by badge and may leave its own id out.
    body = {"id": "intent-0001", "badge": s1["badge"], "position_id": position["id"]}
    status, first = await gateway.request("POST", path, a["token"], json=body)
    assert (status, first) == (201, {"id": "intent-0001"})
    status, again = await gateway.request("POST", path, a["token"], json=body)
    assert (status, again) == (200, first)
    status, taken = await gateway.request(
        "POST", path, b["token"], json={"id": "intent-0001", "seeker_id": s2["id"]}
    )
    assert (status, taken["fields"]) == (409, ["id"])

    status, _ = await gateway.request(
        "POST", path, token, json={"seeker_id": s2["id"], "employer_id": b["id"], "note": "面谈"}
    )
    assert status == 201
    status, err = await gateway.request("POST", path, token, json={"seeker_id": s2["id"]})
    assert (status, err["fields"]) == (422, ["employer_id"])
    status, err = await gateway.request(
        "POST", path, a["token"], json={"seeker_id": s2["id"], "employer_id": b["id"]}
    )
    assert (status, err["fields"]) == (403, ["employer_id"])
    for wrong, field in (
        ({"seeker_id": "nobody"}, "seeker_id"),
        ({"seeker_id": s2["id"], "position_id": "nothing"}, "position_id"),
        ({"badge": "FH1NOTABADGE"}, "badge"),
    ):
        status, err = await gateway.request("POST", path, a["token"], json=wrong)
        assert field in err["fields"], (wrong, status, err)
        assert status in (401, 422)

    status, mine = await gateway.request("GET", path, a["token"])
    assert status == 200
    [item] = mine["items"]
    assert (item["seeker_name"], item["school"], item["employer_name"], item["position_title"]) == (
        "张三",
        "复旦大学",
        "比亚迪",
        "电池工程师",
    )
    status, everything = await gateway.request("GET", path, token)
    assert [i["employer_name"] for i in everything["items"]] == ["比亚迪", "美团"]
    status, page = await gateway.request("GET", path + "?limit=1", token)
    assert len(page["items"]) == 1 and page["next"]

    async def counted() -> bool:
        return totals(await gateway.stats(fair, token))["intents"] == (2, 2)

    await eventually(counted)
    await asyncio.sleep(0.3)
    assert totals(await gateway.stats(fair, token))["intents"] == (2, 2)
