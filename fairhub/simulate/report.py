"""The closing comparison: what the simulated clients sent against what /stats says.

Both sides are flat {figure name: number} maps (see ledger.py for the names); a figure either
side lacks is zero. The day is over when every figure agrees, or when the figures have not
moved for a while (the workers are done, or stuck), or at a deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from fairhub.events import METRICS

# by_employer figures the simulator keeps (others are left out of the comparison).
EMPLOYER_METRICS = (
    "resumes_submitted",
    "resumes_downloaded",
    "intents",
    "booth_visits",
    "qr_scans",
    "consultations",
)
SESSION_METRICS = ("live_views", "resumes_submitted", "consultations")
# The evening report's summary: each line is one of /stats' figures, read in one snapshot.
REPORT_SUMMARY = {
    "visitors": "checkins.unique",
    "checkins": "checkins.total",
    "checkins_denied": "checkins_denied.total",
    "resumes_submitted": "resumes_submitted.total",
    "resume_senders": "resumes_submitted.unique",
    "resumes_online": "resumes_by_channel.online",
    "resumes_onsite": "resumes_by_channel.onsite",
    "resumes_live": "resumes_by_channel.live",
    "resumes_downloaded": "resumes_downloaded.total",
    "qr_visits": "qr_scans.total",
    "qr_visitors": "qr_scans.unique",
    "booth_visits": "booth_visits.total",
    "intents": "intents.total",
    "consultations": "consultations.total",
    "live_views": "live_views.total",
    "live_viewers": "live_views.unique",
}
LISTED = 12  # a group with more figures than this is summarised, its differences listed


@dataclass(frozen=True)
class Row:
    key: str
    sent: int
    got: int

    @property
    def ok(self) -> bool:
        return self.sent == self.got


def observed(
    stats: Mapping[str, Any],
    sessions: Iterable[Mapping[str, Any]] = (),
    summary: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """/stats (and live sessions' and the report's figures) as flat figures."""
    figures: dict[str, int] = {}
    for metric, count in stats["totals"].items():
        figures[f"{metric}.total"] = count["total"]
        figures[f"{metric}.unique"] = count["unique"]
    for verdict, n in stats["checkins_by_verdict"].items():
        figures[f"checkins_by_verdict.{verdict}"] = n
        figures[f"answered.{verdict}"] = n
    for channel, n in stats["resumes_by_channel"].items():
        figures[f"resumes_by_channel.{channel}"] = n
    for row in stats["by_employer"]:
        for metric in EMPLOYER_METRICS:
            if total := row["totals"][metric]["total"]:
                figures[f"by_employer.{row.get('name', row['employer_id'])}.{metric}"] = total
    for row in stats["by_school"]:
        count = row["totals"]["checkins"]
        if count["total"]:
            name = row.get("name", row["school_id"])
            figures[f"by_school.{name}.checkins.total"] = count["total"]
            figures[f"by_school.{name}.checkins.unique"] = count["unique"]
    for row in stats["per_minute"]:
        for metric in ("checkins", "checkins_denied", "booth_visits"):
            if total := row["totals"][metric]["total"]:
                figures[f"per_minute.{row['minute']}.{metric}"] = total
    for row in stats["by_session"]:
        _session(figures, row)
    for document in sessions:
        for name in ("views", "unique_viewers", "resumes", "consultations"):
            figures[f"live_session.{document['title']}.{name}"] = document["figures"][name]
    if summary is not None:
        figures["registry.employers"] = summary["employers"]
        figures["registry.positions"] = summary["positions"]
        figures["registry.seekers"] = summary["seekers_registered"]
        figures["registry.colleges"] = summary["colleges_registered"]
        figures.update({f"report.{name}": summary[name] for name in REPORT_SUMMARY})
    return figures


def _session(figures: dict[str, int], row: Mapping[str, Any]) -> None:
    prefix = f"session.{row.get('name', row['session_id'])}"
    for metric in SESSION_METRICS:
        count = row["totals"][metric]
        if count["total"]:
            figures[f"{prefix}.{metric}.total"] = count["total"]
            if metric != "resumes_submitted":
                figures[f"{prefix}.{metric}.unique"] = count["unique"]
    for part in row.get("by_pin", []):
        for metric in SESSION_METRICS:
            if total := part["totals"][metric]["total"]:
                figures[f"{prefix}.by_pin.{part.get('title', part['position_id'])}.{metric}"] = (
                    total
                )
    for part in row.get("by_employer", []):
        for metric in ("resumes_submitted", "consultations"):
            if total := part["totals"][metric]["total"]:
                name = part.get("name", part["employer_id"])
                figures[f"{prefix}.by_employer.{name}.{metric}"] = total


def with_report(expected: Mapping[str, int]) -> dict[str, int]:
    """The expected figures, and what the report's summary should say about them."""
    lines = {f"report.{name}": expected.get(key, 0) for name, key in REPORT_SUMMARY.items()}
    return {**expected, **lines}


def compare(expected: Mapping[str, int], got: Mapping[str, int]) -> list[Row]:
    """Every figure either side names, sent against observed (a missing one is zero)."""
    return [Row(k, expected.get(k, 0), got.get(k, 0)) for k in sorted(set(expected) | set(got))]


async def settle(
    read: Callable[[], Awaitable[dict[str, int]]],
    expected: Mapping[str, int],
    deadline: float,
    quiet: float = 15.0,
    interval: float = 0.5,
) -> tuple[list[Row], float]:
    """Poll until the figures agree, stop moving for `quiet` s, or `deadline` s pass."""
    start = changed = time.monotonic()
    last: dict[str, int] | None = None
    while True:
        got = await read()
        rows = compare(expected, got)
        now = time.monotonic()
        if all(r.ok for r in rows):
            return rows, now - start
        if got != last:
            last, changed = got, now
        if now - changed >= quiet or now - start >= deadline:
            return rows, now - start
        await asyncio.sleep(interval)


def _group(row: Row) -> str:
    return row.key.split(".", 1)[0]


def _mark(ok: bool) -> str:
    return "[green]✓[/]" if ok else "[bold red]✗ differs[/]"


def headline(rows: list[Row]) -> Table:
    """The nine metrics, total and unique, sent against /stats."""
    by_key = {r.key: r for r in rows}
    table = Table(title="The day's figures: what the clients sent vs what /stats says")
    for name in ("metric", "sent total", "/stats total", "sent unique", "/stats unique", ""):
        table.add_column(name, justify="left" if name == "metric" else "right")
    for metric in METRICS:
        total, unique = (by_key.get(f"{metric}.{k}", Row(k, 0, 0)) for k in ("total", "unique"))
        table.add_row(
            metric, str(total.sent), str(total.got), str(unique.sent), str(unique.got),
            _mark(total.ok and unique.ok),
        )  # fmt: skip
    return table


def breakdowns(rows: list[Row]) -> Table:
    """Every other figure, group by group; big groups summed, their differences named."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        group = _group(row)
        if group not in METRICS:
            groups.setdefault(group, []).append(row)
    table = Table(title="Breakdowns")
    for name in ("figure", "sent", "/stats", ""):
        table.add_column(name, justify="left" if name == "figure" else "right")
    for group, members in groups.items():
        wrong = [r for r in members if not r.ok]
        if not any(r.sent or r.got for r in members):
            continue  # nothing of the kind happened, and nothing was counted
        if len(members) <= LISTED:
            for r in members:
                table.add_row(r.key, str(r.sent), str(r.got), _mark(r.ok))
            continue
        sent, got = sum(r.sent for r in members), sum(r.got for r in members)
        label = f"{group}.* ({len(members)} figures, summed)"
        table.add_row(label, str(sent), str(got), _mark(not wrong))
        for r in wrong[:20]:
            table.add_row(f"  {r.key}", str(r.sent), str(r.got), _mark(False))
        if len(wrong) > 20:
            table.add_row(f"  … {len(wrong) - 20} more differ", "", "", "")
    return table


def closing(
    console: Console, rows: list[Row], anomalies: list[str], errors: list[str], failed: int
) -> int:
    """Print the tables and what went wrong; the exit status: 0 only if all is exact."""
    console.print(headline(rows))
    console.print(breakdowns(rows))
    # The headline metrics first: they are what an organizer would see wrong.
    wrong = sorted((r for r in rows if not r.ok), key=lambda r: (_group(r) not in METRICS, r.key))
    for text in anomalies[:20]:
        console.print(f"[red]answer broke the API's promise:[/] {text}")
    if failed:
        console.print(f"[red]{failed} client actions failed[/]; first ones:")
        for text in errors:
            console.print(f"  {text}")
    if wrong:
        names = ", ".join(r.key for r in wrong[:10]) + (" …" if len(wrong) > 10 else "")
        console.print(f"[bold red]{len(wrong)} figures differ:[/] {names}")
    if wrong or anomalies or failed:
        return 1
    console.print(f"[bold green]all {len(rows)} figures agree[/]")
    return 0
