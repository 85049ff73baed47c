"""A fair's hires per channel: /stats and the dashboards' stream count each hire once, by id."""

from __future__ import annotations

from typing import Any

from support import Gateway, StatsStream, WorkerTask, event, eventually

from fairhub.events import HIRE_CHANNELS


def _channels(stats: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {c: (n["total"], n["unique"]) for c, n in stats["hires_by_channel"].items()}


async def test_hires_by_channel_exact_with_resends(gateway: Gateway, worker: WorkerTask) -> None:
    fair, organizer = await gateway.create_fair()
    before = await gateway.stats(fair, organizer)
    # Every channel is there from the start, at zero, like every metric.
    assert _channels(before) == dict.fromkeys(HIRE_CHANNELS, (0, 0))
    assert before["totals"]["hires"] == {"total": 0, "unique": 0}

    plant = await gateway.create(fair, organizer, "employers", name="常州精密")
    shop = await gateway.create(fair, organizer, "employers", name="武进机械")
    zhou, wu, zheng = [
        (await gateway.create(fair, organizer, "seekers", name=name))["id"]
        for name in ("周一", "吴二", "郑三")
    ]

    def hire(employer: dict[str, Any], seeker: str, **fields: Any) -> dict[str, Any]:
        return event("hired", employer_id=employer["id"], seeker_id=seeker, **fields)

    hires = [
        hire(plant, zhou),  # channel defaults to fair
        hire(shop, zhou, channel="fair"),  # the same person, hired twice at the fair
        hire(plant, wu, channel="livestream"),
        hire(shop, wu, channel="training"),
        hire(shop, zheng, channel="training"),
        hire(plant, zheng, channel="internship", occupation="钳工"),
    ]
    # Other events of the fair add nothing to the hires.
    noise = [event("consultation", employer_id=plant["id"], seeker_id=wu)]
    async with StatsStream.open(gateway, fair, organizer) as stream:
        await stream.next_event()
        results = await gateway.post(fair, organizer, hires[:4] + noise)
        assert {r["status"] for r in results} == {"accepted"}
        # A kiosk resends its whole queue, the newer hires mixed in: each counts once.
        results = await gateway.post(fair, plant["token"], [hires[0], hires[2], hires[5]])
        assert [r["status"] for r in results] == ["duplicate", "duplicate", "accepted"]
        results = await gateway.post(fair, organizer, hires + noise)
        statuses = [r["status"] for r in results]
        assert statuses == ["duplicate"] * 4 + ["accepted", "duplicate", "duplicate"]

        expected = {
            "fair": (2, 1),
            "livestream": (1, 1),
            "training": (2, 2),
            "internship": (1, 1),
            "other": (0, 0),
        }

        async def counted() -> bool:
            stats = await gateway.stats(fair, organizer)
            return stats["totals"]["consultations"]["total"] == 1 and _channels(stats) == expected

        await eventually(counted)
        stats = await gateway.stats(fair, organizer)
        assert stats["totals"]["hires"] == {"total": 6, "unique": 3}
        by_employer = {row["employer_id"]: row["totals"]["hires"] for row in stats["by_employer"]}
        assert by_employer == {
            plant["id"]: {"total": 3, "unique": 3},
            shop["id"]: {"total": 3, "unique": 3},
        }
        # The dashboards' stream carries the same split.
        _, data = await stream.until(lambda d: d["totals"].get("hires", {}).get("total") == 6)
        assert _channels(data) == expected
