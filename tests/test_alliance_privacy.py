"""Personal data of the menu's sign-ups: read by the secretary and the offering institution
only, each read in the alliance's audit log; erased by phone or seeker id by the secretary, and
by a seeker's own erasure at a fair; the figures stay."""

from __future__ import annotations

from typing import Any

from support import Gateway, WorkerTask, eventually
from test_alliances import alliance_stats, member, new_alliance


async def test_signups_read_audited_and_erased(gateway: Gateway, worker: WorkerTask) -> None:
    alliance, secretary = await new_alliance(gateway)
    institution = await member(
        gateway, alliance, secretary, kind="training_institution", name="丹徒培训学校"
    )
    await member(gateway, alliance, secretary, kind="enterprise", name="镇江船厂")
    status, offer = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/offers", secretary,
        json={"member_id": institution, "occupation": "焊工", "kind": "subsidised", "seats": 9},
    )  # fmt: skip
    assert status == 201, offer
    fair, organizer = await gateway.create_fair()
    status, _ = await gateway.request(
        "POST", f"/v1/alliances/{alliance}/fairs", secretary, json={"fair_id": fair}
    )
    school = await gateway.create(fair, organizer, "employers", name="丹徒培训学校")
    yard = await gateway.create(fair, organizer, "employers", name="镇江船厂")
    assert school["member_id"] == institution and yard["member_id"] not in (None, institution)

    # Four sign-ups: two by name and phone, a seeker by their sign-in, the same person by phone.
    signup = f"/a/{alliance}/menu/signup"
    for name, phone in (("王五", "13800138000"), ("赵六", "139 0013 9000")):
        status, _ = await gateway.request(
            "POST", signup, None, json={"offer_id": offer["id"], "name": name, "phone": phone}
        )
        assert status == 201
    status, seeker = await gateway.request(
        "POST", f"/p/{fair}/signup", None,
        json={"name": "钱七", "phone": "13700000000", "consent": True},
    )  # fmt: skip
    assert status == 201, seeker
    by_sign_in = {"offer_id": offer["id"]}
    status, _ = await gateway.request("POST", signup, seeker["token"], json=by_sign_in)
    assert status == 201
    status, _ = await gateway.request(
        "POST", signup, None,
        json={"offer_id": offer["id"], "name": "钱七", "phone": "+86 137-0000-0000"},
    )  # fmt: skip
    assert status == 201

    path = f"/v1/alliances/{alliance}/offers/{offer['id']}/signups"

    async def people(token: str = secretary) -> list[tuple[Any, Any]]:
        status, body = await gateway.request("GET", path, token)
        assert status == 200, body
        return [(s["name"], s["phone"]) for s in body["items"]]

    assert await people() == [
        ("王五", "13800138000"),
        ("赵六", "139 0013 9000"),
        ("钱七", "13700000000"),  # the seeker's own, from the fair
        ("钱七", "+86 137-0000-0000"),
    ]
    assert len(await people(school["token"])) == 4  # the institution calls them back
    status, page = await gateway.request("GET", path + "?limit=3", secretary)
    status, rest = await gateway.request("GET", f"{path}?after={page['next']}", secretary)
    assert [len(page["items"]), len(rest["items"]), rest["next"]] == [3, 1, None]
    for token in (yard["token"], organizer, seeker["token"]):
        status, err = await gateway.request("GET", path, token)
        assert (status, err["fields"]) == (403, ["Authorization"]), err
    status, err = await gateway.request(
        "GET", f"/v1/alliances/{alliance}/offers/nope/signups", secretary
    )
    assert (status, err["fields"]) == (404, ["offer"])

    async def signed_up() -> dict[str, int]:
        stats = await alliance_stats(gateway, alliance, secretary)
        return dict(stats["totals"]["training_signups"])

    async def counted() -> bool:
        return (await signed_up())["total"] == 4

    await eventually(counted)
    before = await signed_up()

    # The secretary erases by phone (any spelling) and by seeker id (that seeker's phone).
    erase = f"/v1/alliances/{alliance}/people/"
    status, done = await gateway.request("DELETE", erase + "8613800138000", secretary)
    assert (status, done) == (200, {"erased": 1})
    same_phone = await gateway.create(fair, organizer, "seekers", name="赵六", phone="13900139000")
    status, done = await gateway.request("DELETE", erase + same_phone["id"], secretary)
    assert (status, done) == (200, {"erased": 1})
    assert (await people())[:2] == [(None, None), (None, None)]
    status, err = await gateway.request("DELETE", erase + "abc", secretary)
    assert (status, err["fields"]) == (422, ["person"])
    status, err = await gateway.request("DELETE", erase + "13800138000", school["token"])
    assert (status, err["fields"]) == (403, ["Authorization"])

    # The seeker erases themselves at the fair: their sign-ups in its alliance go too, the one
    # made by their phone as well.
    status, _ = await gateway.request("DELETE", f"/p/{fair}/me", seeker["token"])
    assert status == 204
    assert await people() == [(None, None)] * 4
    assert await signed_up() == before  # counters are not personal data

    # Every read of the list (not the refused ones) and every erasure is in the alliance's log.
    status, log = await gateway.request("GET", f"/v1/alliances/{alliance}/audit", secretary)
    assert status == 200, log
    actions = [(e["action"], e["actor_role"]) for e in log["items"]]
    assert actions.count(("signups_listed", "secretary")) == 5
    assert actions.count(("signups_listed", "employer")) == 1
    assert actions.count(("signups_erased", "secretary")) == 2
    assert len(actions) == 8
    assert all(e["subject"] == offer["id"] for e in log["items"] if e["action"] == "signups_listed")
    assert "13800138000" not in str(log)
    status, only = await gateway.request(
        "GET", f"/v1/alliances/{alliance}/audit?action=signups_erased&limit=1", secretary
    )
    assert [e["action"] for e in only["items"]] == ["signups_erased"] and only["next"]
    status, fair_log = await gateway.request("GET", f"/v1/fairs/{fair}/audit", organizer)
    assert all(e["action"] != "signups_listed" for e in fair_log["items"])
    status, err = await gateway.request("GET", f"/v1/alliances/{alliance}/audit", organizer)
    assert status == 403
