"""An alliance's report, like a fair's: what the secretary publishes each quarter, as JSON, CSV
and an Excel workbook (the A4 page is alliance_report_html).

The figures are the /stats document itself (fairhub.alliance_figures), read in one snapshot
with the alliance's name and rules; the tables below only lay them out, so the report, /stats
and the CLI never disagree. Text cells (members' names come from secretaries and imports)
go through the fair report's formula neutralization.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from fairhub import xlsx
from fairhub.alliance_figures import read_alliance_stats
from fairhub.alliance_report_text import TEXT
from fairhub.alliances import number
from fairhub.events import ALLIANCE_METRICS, HIRE_CHANNELS
from fairhub.report import safe_rows

# The parts of the /stats document the report carries as they are.
STATS_PARTS = (
    "totals",
    "by_member",
    "by_occupation",
    "by_offer",
    "hires_by_channel",
    "subsidies",
    "training_subsidy",
)


@dataclass(frozen=True)
class Table:
    """One table of the report: a column is (heading, sub-heading or ""); a row, its cells."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[list[Any]]
    lang: str = "zh"

    def headings(self) -> list[str]:
        """One line of headings, for a CSV or a sheet: `培训报名人次`, `Sign-ups, people`."""
        return [top + (_join(self.lang, sub) if sub else "") for top, sub in self.columns]


async def build_alliance_report(
    db: asyncpg.Pool | asyncpg.Connection, alliance: str
) -> dict[str, Any] | None:
    """The report of one alliance (None if there is none), from one database snapshot."""

    async def read(conn: asyncpg.Connection) -> dict[str, Any] | None:
        info = await conn.fetchrow(
            "SELECT id::text, name, region, internship_share, internship_subsidy"
            " FROM alliances WHERE id = $1",
            alliance,
        )
        stats = await read_alliance_stats(conn, alliance)
        if info is None or stats is None:
            return None
        about = dict(info)
        about["internship_share"] = number(info["internship_share"])
        about["internship_subsidy"] = number(info["internship_subsidy"])
        internships = sum(s["amount"] for s in stats["subsidies"])
        return {
            "alliance": about,
            "as_of": datetime.now(UTC).isoformat(),
            **{part: stats[part] for part in STATS_PARTS},
            "internship_subsidies": internships,
            "subsidies_total": internships + stats["training_subsidy"],
        }

    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await read(conn)
    async with db.transaction(isolation="repeatable_read", readonly=True):
        return await read(db)


def _pair(row: dict[str, Any], metric: str) -> list[int]:
    counts = row.get(metric) or {}
    return [counts.get("total", 0), counts.get("unique", 0)]


def _chain(row: dict[str, Any]) -> list[int]:
    """A row's chain figures in column order: each metric's total, then its persons."""
    return [n for metric in ALLIANCE_METRICS for n in _pair(row, metric)]


def _chain_totals(rows: list[dict[str, Any]]) -> list[int | str]:
    """The totals of rows that may share persons: only the totals (人次) add up."""
    return [n for m in ALLIANCE_METRICS for n in (sum(_pair(r, m)[0] for r in rows), "")]


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "")


class _Layout:
    """The report's tables in one language: summary, members, occupations, offers, channels,
    subsidies; each ends with its totals row."""

    def __init__(self, report: dict[str, Any], lang: str) -> None:
        self.report, self.lang, self.text = report, lang, TEXT[lang]
        self.members = report["by_member"]
        at_fairs = [_pair(m["at_fairs"], "hires") for m in self.members]
        self.at_fairs = at_fairs
        self.fair_hires = [sum(p[0] for p in at_fairs), sum(p[1] for p in at_fairs)]
        self.demand = sum(m["demand"] for m in self.members)
        self.seats = sum(m["seats"] for m in self.members)

    def table(self, key: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> Table:
        return Table(key, self.text[key], columns, rows, self.lang)

    def plain(self, *keys: str) -> list[tuple[str, str]]:
        return [(self.text[k], "") for k in keys]

    def counted(self, *metrics: str) -> list[tuple[str, str]]:
        text = self.text
        return [(text[m], text[part]) for m in metrics for part in ("total_part", "unique_part")]

    def kind(self, kind: str) -> str:
        return self.text.get(f"kind.{kind}", kind)

    def summary(self) -> Table:
        text, report = self.text, self.report
        rows: list[list[Any]] = [
            [text["member_count"], len(self.members)],
            [text["demand"], self.demand],
            [text["seats"], self.seats],
        ]
        for (label, part), value in zip(
            self.counted(*ALLIANCE_METRICS, "hires_at_fairs"),
            [*_chain(report["totals"]), *self.fair_hires],
            strict=True,
        ):
            rows.append([label + _join(self.lang, part), value])
        rows += [
            [text["internship_subsidy"], report["internship_subsidies"]],
            [text["training_subsidy"], report["training_subsidy"]],
            [text["subsidy_total"], report["subsidies_total"]],
        ]
        return self.table("summary", self.plain("metric", "value"), rows)

    def by_member(self) -> Table:
        rows: list[list[Any]] = [
            [m["name"], self.kind(m["kind"]), _day(m["joined_at"]), _day(m["left_at"]),
             m["demand"], m["seats"], *_chain(m), *pair]
            for m, pair in zip(self.members, self.at_fairs, strict=True)
        ]  # fmt: skip
        # The alliance's own totals: a person trained by two members is one person.
        rows.append(
            [self.text["total"], "", "", "", self.demand, self.seats,
             *_chain(self.report["totals"]), *self.fair_hires]
        )  # fmt: skip
        columns = self.plain("member", "kind", "joined_at", "left_at", "demand", "seats")
        return self.table(
            "members", columns + self.counted(*ALLIANCE_METRICS, "hires_at_fairs"), rows
        )

    def by_occupation(self) -> Table:
        occupations = self.report["by_occupation"]
        demand = ("technical", "skilled", "seats")
        rows: list[list[Any]] = [
            [o["occupation"], *(o[k] for k in demand), *_chain(o)] for o in occupations
        ]
        rows.append(
            [self.text["total"], *(sum(o[k] for o in occupations) for k in demand),
             *_chain_totals(occupations)]
        )  # fmt: skip
        columns = self.plain("occupation", *demand) + self.counted(*ALLIANCE_METRICS)
        return self.table("occupations", columns, rows)

    def by_offer(self) -> Table:
        offers = self.report["by_offer"]
        names = {m["id"]: m["name"] for m in self.members}
        rows: list[list[Any]] = [
            [o["occupation"], names.get(o["member_id"], o["member_id"]), self.kind(o["kind"]),
             o["seats"], *_chain(o), o["subsidy_per_trainee"], o["training_subsidy"]]
            for o in offers
        ]  # fmt: skip
        rows.append(
            [self.text["total"], "", "", sum(o["seats"] for o in offers), *_chain_totals(offers),
             "", self.report["training_subsidy"]]
        )  # fmt: skip
        columns = (
            self.plain("occupation", "institution", "kind", "seats")
            + self.counted(*ALLIANCE_METRICS)
            + self.plain("subsidy_per_trainee", "training_subsidy")
        )
        return self.table("offers", columns, rows)

    def channels(self) -> Table:
        counted = self.report["hires_by_channel"]  # channels that hired nobody are left out
        rows: list[list[Any]] = [
            [self.text[f"channel.{c}"], *_pair(counted, c)] for c in HIRE_CHANNELS
        ]
        rows.append([self.text["total"], *_pair(self.report["totals"], "hires")])
        return self.table("channels", self.plain("channel") + self.counted("hires"), rows)

    def subsidies(self) -> Table:
        subsidies = self.report["subsidies"]
        rows: list[list[Any]] = [
            [s["name"], s["semester"], s["staff"], s["internship_posts"], s["amount"]]
            for s in subsidies
        ]
        rows.append(
            [self.text["total"], "", "", sum(s["internship_posts"] for s in subsidies),
             self.report["internship_subsidies"]]
        )  # fmt: skip
        columns = self.plain("enterprise", "semester", "staff", "internship_posts", "amount")
        return self.table("subsidies", columns, rows)


def report_tables(report: dict[str, Any], lang: str = "zh") -> list[Table]:
    """The report laid out: summary, members, occupations, offers, channels, subsidies."""
    layout = _Layout(report, lang)
    return [
        layout.summary(),
        layout.by_member(),
        layout.by_occupation(),
        layout.by_offer(),
        layout.channels(),
        layout.subsidies(),
    ]


def _join(lang: str, part: str) -> str:
    return f", {part}" if lang == "en" else part


def alliance_report_csv(report: dict[str, Any], lang: str = "zh") -> bytes:
    """Every table under its title, in UTF-8 with a BOM so that Excel reads Chinese."""
    text = TEXT[lang]
    rows: list[list[Any]] = [
        [text["title"], report["alliance"]["name"]],
        [text["as_of"], report["as_of"]],
    ]
    for table in report_tables(report, lang):
        rows += [[], [table.title], table.headings(), *table.rows]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(safe_rows(rows))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def alliance_report_xlsx(report: dict[str, Any], lang: str = "zh") -> bytes:
    """One sheet per table; figures are numbers, text is neutralized as in the CSV."""
    text = TEXT[lang]
    tables = report_tables(report, lang)
    tables[0].rows.extend(
        [[], [text["title"], report["alliance"]["name"]], [text["as_of"], report["as_of"]]]
    )
    widths: dict[str, Sequence[int]] = {
        t.title[:31]: [24] + [12] * (len(t.columns) - 1) for t in tables
    }
    return xlsx.workbook(
        [(t.title, safe_rows([t.headings(), *t.rows])) for t in tables], widths=widths
    )
