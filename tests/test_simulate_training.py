"""`fairhub simulate --profile training`: the seed alliances, a quarter of the chain after the
fairs, and every figure of the alliances' /stats found exact; a figure changed behind the
simulator's back is found and named."""

from __future__ import annotations

import argparse
import io
import re

import asyncpg
from rich.console import Console
from support import ADMIN_TOKEN, Gateway, WorkerTask
from test_simulate import simulate

from fairhub.seeds import Loaded
from fairhub.simulate.training import simulate_training


async def test_a_quarter_at_a_twentieth_ends_in_exact_figures(
    gateway: Gateway, worker: WorkerTask
) -> None:
    status, output = await simulate(gateway, "--profile", "training", "--scale", "0.05")
    assert status == 0, output
    agree = re.search(r"all (\d+) figures agree", output)
    assert agree and int(agree[1]) > 300, output
    assert "per member" in output and "per occupation" in output
    ids = dict(re.findall(r"loaded (\S+): id ([0-9a-f-]{36})", output))
    assert len(ids) == 4, output

    async def stats(name: str) -> dict[str, object]:
        status, answer = await gateway.request(
            "GET", f"/v1/alliances/{ids[name]}/stats", ADMIN_TOKEN
        )
        assert status == 200, answer
        return answer

    zibo = await stats("淄博技工教育集团")
    amounts = [s["amount"] for s in zibo["subsidies"]]  # type: ignore[index]
    assert 0 in amounts and any(a > 0 for a in amounts), amounts  # the 2 % rule bites for some
    channels: set[str] = set()
    for name in ids:
        channels |= set((await stats(name))["hires_by_channel"])  # type: ignore[arg-type]
    assert channels == {"fair", "livestream", "training", "internship", "other"}
    zhenjiang = await stats("镇江技能人才培养联盟")
    assert zhenjiang["training_subsidy"] > 0  # type: ignore[operator]
    wujin = await stats("武进校企合作联盟")
    at_fairs = [m["at_fairs"] for m in wujin["by_member"] if m["at_fairs"]]  # type: ignore[attr-defined]
    assert at_fairs and all(f["hires"]["total"] > 0 for f in at_fairs)


async def test_a_figure_changed_before_the_comparison_fails_the_run_and_is_named(
    gateway: Gateway, worker: WorkerTask, db: asyncpg.Connection
) -> None:
    async def tamper(loaded: list[Loaded]) -> None:
        zhenjiang = next(a for a in loaded if a.seed.slug == "zhenjiang")
        changed = await db.execute(
            "UPDATE counters SET total = total + 1 WHERE fair_id = $1 AND metric = 'hires'"
            " AND dim = 'fair'",
            zhenjiang.id,
        )
        assert changed == "UPDATE 1"

    out = io.StringIO()
    args = argparse.Namespace(scale=0.03, seed=11, clients=None, settle=60.0)
    status = await simulate_training(
        gateway.base, ADMIN_TOKEN, args, Console(file=out, width=200), tamper
    )
    text = out.getvalue()
    assert status == 1, text
    assert "1 figures differ: zhenjiang:totals.hires.total" in text, text
