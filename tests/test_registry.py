"""The registry API: create, read, page, update, revoke; scoped tokens; leads at booths."""

from __future__ import annotations

from typing import Any

import asyncpg
from support import Gateway, WorkerTask, eventually, totals


async def test_employers_create_page_update_and_revoke(
    gateway: Gateway, db: asyncpg.Connection
) -> None:
    fair, token = await gateway.create_fair()
    base = f"/v1/fairs/{fair}/employers"
    created = [
        await gateway.create(fair, token, "employers", name=f"企业{n:02d}", booth=f"A{n}")
        for n in range(7)
    ]
    assert all(c["token"].startswith("fhe_") for c in created)
    # Tokens are shown once and stored hashed: the table never holds one.
    stored = await db.fetch("SELECT token_hash FROM tokens WHERE fair_id = $1", fair)
    assert not {c["token"] for c in created} & {r["token_hash"] for r in stored}

    seen: list[str] = []
    path = base + "?limit=3"
    while True:
        status, page = await gateway.request("GET", path, token)
        assert status == 200, page
        seen += [item["name"] for item in page["items"]]
        if page["next"] is None:
            break
        path = f"{base}?limit=3&after={page['next']}"
    assert seen == [f"企业{n:02d}" for n in range(7)]

    status, body = await gateway.request("POST", base, token, json={"name": " 企业03 "})
    assert (status, body["error"], body["fields"]) == (409, "conflict", ["name"])
    status, body = await gateway.request("POST", base, token, json={"name": "", "boss": 1})
    assert status == 422 and set(body["fields"]) == {"name", "boss"}, body

    one = created[0]
    status, body = await gateway.request(
        "PATCH", f"{base}/{one['id']}", token, json={"industry": "制造业"}
    )
    assert status == 200 and body["industry"] == "制造业" and body["name"] == "企业00"
    # The employer itself may fix its own details, not another's.
    status, _ = await gateway.request(
        "PATCH", f"{base}/{one['id']}", one["token"], json={"booth": "B1"}
    )
    assert status == 200
    status, _ = await gateway.request(
        "PATCH", f"{base}/{created[1]['id']}", one["token"], json={"booth": "B1"}
    )
    assert status == 403

    # Revoked: the employer's token stops at once; a reissued token works, the old one not.
    status, body = await gateway.request("DELETE", f"{base}/{one['id']}", token)
    assert status == 200 and body["revoked_at"] is not None
    status, body = await gateway.request("GET", base, one["token"])
    assert status == 401, body
    second = created[1]
    status, fresh = await gateway.request("POST", f"{base}/{second['id']}/token", token)
    assert status == 201, fresh
    assert (await gateway.request("GET", base, second["token"]))[0] == 401
    assert (await gateway.request("GET", base, fresh["token"]))[0] == 200
    status, page = await gateway.request("GET", base, token)
    assert len(page["items"]) == 6
    status, page = await gateway.request("GET", base + "?revoked=include", token)
    assert len(page["items"]) == 7
    status, body = await gateway.request("GET", f"{base}/no-such-id", token)
    assert (status, body["fields"]) == (404, ["id"])


async def test_positions_belong_to_their_employer(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    acme = await gateway.create(fair, token, "employers", name="Acme")
    other = await gateway.create(fair, token, "employers", name="Other")
    base = f"/v1/fairs/{fair}/positions"
    position = {"employer_id": acme["id"], "title": "会计", "job_type": "财务", "headcount": 2}
    status, mine = await gateway.request("POST", base, acme["token"], json=position)
    assert status == 201, mine
    status, body = await gateway.request("POST", base, other["token"], json=position)
    assert (status, body["fields"]) == (403, ["employer_id"])
    status, body = await gateway.request(
        "POST", base, token, json={**position, "employer_id": "nobody", "headcount": -1}
    )
    assert status == 422 and body["fields"] == ["headcount"], body
    status, body = await gateway.request("POST", base, token, json={**position, "employer_id": "x"})
    assert (status, body["fields"]) == (422, ["employer_id"])
    status, body = await gateway.request(
        "PATCH", f"{base}/{mine['id']}", other["token"], json={"headcount": 9}
    )
    assert status == 403
    status, body = await gateway.request(
        "PATCH", f"{base}/{mine['id']}", acme["token"], json={"headcount": 9}
    )
    assert status == 200 and body["headcount"] == 9
    status, page = await gateway.request("GET", f"{base}?q=会&employer_id={acme['id']}", token)
    assert [p["title"] for p in page["items"]] == ["会计"]


async def test_seekers_are_personal_data(gateway: Gateway) -> None:
    fair, token = await gateway.create_fair()
    device = await gateway.create(fair, token, "devices", label="登记台")
    employer = await gateway.create(fair, token, "employers", name="Acme")
    base = f"/v1/fairs/{fair}/seekers"
    # Registration desks (devices) sign seekers up on the spot; only organizers read them.
    status, made = await gateway.request(
        "POST", base, device["token"], json={"name": "王安", "phone": "138 0013 8000"}
    )
    assert status == 201 and made["badge"].startswith("FH1") and made["number"] == 1
    status, body = await gateway.request("POST", base, token, json={"name": "李博", "phone": "x"})
    assert (status, body["fields"]) == (422, ["phone"])
    for who in (device["token"], employer["token"]):
        assert (await gateway.request("GET", base, who))[0] == 403
        assert (await gateway.request("GET", f"{base}/{made['id']}", who))[0] == 403
    status, seeker = await gateway.request("GET", f"{base}/{made['id']}", token)
    assert status == 200 and seeker["phone"] == "13800138000"
    assert seeker["badge"] == made["badge"]  # Ed25519 is deterministic: badges re-derive
    status, _ = await gateway.request(
        "PATCH", f"{base}/{made['id']}", device["token"], json={"name": "x"}
    )
    assert status == 403
    status, body = await gateway.request(
        "PATCH", f"{base}/{made['id']}", token, json={"school": "复旦大学"}
    )
    assert status == 200 and body["school"] == "复旦大学"


async def test_leads_one_per_employer_and_seeker(gateway: Gateway, worker: WorkerTask) -> None:
    fair, token = await gateway.create_fair()
    acme = await gateway.create(fair, token, "employers", name="Acme")
    beta = await gateway.create(fair, token, "employers", name="Beta")
    booth = await gateway.create(fair, token, "devices", label="Acme 展位", employer_id=acme["id"])
    ann = await gateway.create(fair, token, "seekers", name="王安", school="复旦大学")
    bo = await gateway.create(fair, token, "seekers", name="李博")
    leads = f"/v1/fairs/{fair}/leads"

    async def scan(who: str, body: dict[str, Any]) -> tuple[int, Any]:
        return await gateway.request("POST", leads, who, json=body)

    status, lead = await scan(booth["token"], {"id": "booth-scan-0001", "badge": ann["badge"]})
    assert status == 201, lead
    assert (lead["employer_id"], lead["seeker_name"], lead["school"]) == (
        acme["id"],
        "王安",
        "复旦大学",
    )
    # The kiosk retried: same answer, the scan not counted twice.
    status, lead = await scan(booth["token"], {"id": "booth-scan-0001", "badge": ann["badge"]})
    assert (status, lead["scans"]) == (201, 1)
    status, lead = await scan(acme["token"], {"badge": ann["badge"], "notes": "会计", "rating": 4})
    assert (status, lead["scans"], lead["notes"], lead["rating"]) == (200, 2, "会计", 4)
    status, _ = await scan(beta["token"], {"seeker_id": bo["id"]})
    assert status == 201
    status, body = await scan(beta["token"], {"badge": ann["badge"], "employer_id": acme["id"]})
    assert (status, body["fields"]) == (403, ["employer_id"])
    status, body = await scan(booth["token"], {"badge": ann["badge"][:-4]})
    assert (status, body["error"], body["fields"]) == (422, "invalid_badge", ["badge"])
    status, body = await scan(token, {"badge": ann["badge"]})
    assert (status, body["fields"]) == (422, ["employer_id"])

    status, mine = await gateway.request("GET", leads, acme["token"])
    assert [item["seeker_name"] for item in mine["items"]] == ["王安"]
    status, theirs = await gateway.request("GET", leads, beta["token"])
    assert [item["seeker_name"] for item in theirs["items"]] == ["李博"]
    status, everyone = await gateway.request("GET", leads, token)
    assert len(everyone["items"]) == 2
    assert (await gateway.request("GET", leads, booth["token"]))[0] == 403

    async def counted() -> bool:
        stats = await gateway.stats(fair, token)
        return totals(stats)["booth_visits"] == (3, 2)

    await eventually(counted)
    stats = await gateway.stats(fair, token)
    names = {row["name"]: row["totals"]["booth_visits"] for row in stats["by_employer"]}
    assert names == {"Acme": {"total": 2, "unique": 1}, "Beta": {"total": 1, "unique": 1}}


async def test_a_token_says_what_it_is(gateway: Gateway) -> None:
    fair, organizer = await gateway.create_fair()
    device = await gateway.create(fair, organizer, "devices", label="北门 1号机", gate="北门")
    status, me = await gateway.request("GET", "/v1/me", device["token"])
    assert status == 200, me
    assert (me["role"], me["fair_id"], me["subject_id"]) == ("device", fair, device["id"])
    assert me["device"] == {"id": device["id"], "label": "北门 1号机", "gate": "北门",
                            "employer_id": None}  # fmt: skip
    status, me = await gateway.request("GET", "/v1/me", organizer)
    assert status == 200 and (me["role"], me["fair_id"]) == ("organizer", fair)
    status, me = await gateway.request("GET", "/v1/me", None)
    assert status == 401, me
