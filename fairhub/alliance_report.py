"""An alliance's report, like a fair's: what the secretary publishes each quarter, as JSON, CSV
and an Excel workbook (the A4 page is alliance_report_html).

The figures are the /stats document itself (fairhub.alliance_figures), read in one snapshot
with the alliance's name and rules; the tables below only lay them out, so the report, /stats
and the CLI never disagree. Text cells (members' names come from secretaries and imports)
go through the fair report's formula neutralization.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

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

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "联盟数据报告", "as_of": "数据截至", "region": "地区", "rules": "实习补贴规则",
        "rule": "实习生达在职人数 {share}% 的企业，每个实习岗位每学期 {amount} 元",
        "summary": "总体数据", "members": "成员明细", "occupations": "工种明细",
        "offers": "培训项目明细", "channels": "录用渠道", "subsidies": "实习补贴",
        "metric": "指标", "value": "数值", "total": "合计", "none": "（无）",
        "total_part": "人次", "unique_part": "人数",
        "member_count": "成员单位", "demand": "岗位需求", "seats": "培训名额",
        "hires_at_fairs": "招聘会录用", "internship_subsidy": "应付实习补贴",
        "training_subsidy": "应付培训补贴", "subsidy_total": "补贴合计",
        "member": "成员", "kind": "类型", "joined_at": "加入日期", "left_at": "退出日期",
        "occupation": "工种", "technical": "技术管理岗需求", "skilled": "技能岗需求",
        "institution": "培训机构", "subsidy_per_trainee": "每人补贴",
        "channel": "渠道", "enterprise": "企业", "semester": "学期", "staff": "在职人数",
        "internship_posts": "实习岗位", "amount": "补贴金额",
        "training_signups": "培训报名", "training_completions": "培训结业",
        "certifications": "技能取证", "internships": "实习", "hires": "录用",
        "kind.school": "学校", "kind.technical_school": "技工学校",
        "kind.vocational_school": "职业学校", "kind.enterprise": "企业",
        "kind.association": "行业协会", "kind.training_institution": "培训机构",
        "kind.subsidised": "补贴性培训", "kind.certification": "技能等级认定",
        "kind.project_class": "订单班",
        "channel.fair": "招聘会", "channel.livestream": "直播带岗", "channel.training": "培训",
        "channel.internship": "实习", "channel.other": "其他",
    },
    "en": {
        "title": "Alliance report", "as_of": "Figures as of", "region": "Region",
        "rules": "Internship subsidy rule",
        "rule": "enterprises whose interns reach {share}% of their staff: {amount} yuan per"
        " internship post per semester",
        "summary": "Summary", "members": "By member", "occupations": "By occupation",
        "offers": "By training offer", "channels": "Hires by channel",
        "subsidies": "Internship subsidies",
        "metric": "Metric", "value": "Value", "total": "Total", "none": "(none)",
        "total_part": "total", "unique_part": "people",
        "member_count": "Members", "demand": "Demand", "seats": "Seats",
        "hires_at_fairs": "Hires at fairs", "internship_subsidy": "Internship subsidy owed",
        "training_subsidy": "Training subsidy owed", "subsidy_total": "Subsidies owed",
        "member": "Member", "kind": "Kind", "joined_at": "Joined", "left_at": "Left",
        "occupation": "Occupation", "technical": "Technical demand", "skilled": "Skilled demand",
        "institution": "Institution", "subsidy_per_trainee": "Subsidy per trainee",
        "channel": "Channel", "enterprise": "Enterprise", "semester": "Semester",
        "staff": "Staff", "internship_posts": "Internship posts", "amount": "Amount",
        "training_signups": "Sign-ups", "training_completions": "Completions",
        "certifications": "Certified", "internships": "Interns", "hires": "Hires",
        "kind.school": "school", "kind.technical_school": "technical school",
        "kind.vocational_school": "vocational school", "kind.enterprise": "enterprise",
        "kind.association": "association", "kind.training_institution": "training institution",
        "kind.subsidised": "subsidised training", "kind.certification": "skill certification",
        "kind.project_class": "project class",
        "channel.fair": "fair", "channel.livestream": "livestream", "channel.training": "training",
        "channel.internship": "internship", "channel.other": "other",
    },
}  # fmt: skip


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


def _metric_columns(text: dict[str, str], metrics: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(text[m], text[part]) for m in metrics for part in ("total_part", "unique_part")]


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value or "")


def report_tables(report: dict[str, Any], lang: str = "zh") -> list[Table]:
    """The report laid out: summary, members, occupations, offers, channels, subsidies."""
    text = TEXT[lang]
    totals = report["totals"]
    members = report["by_member"]
    names = {m["id"]: m["name"] for m in members}
    chain = ALLIANCE_METRICS
    at_fairs = [_pair(m["at_fairs"], "hires") for m in members]
    fair_hires = [sum(p[0] for p in at_fairs), sum(p[1] for p in at_fairs)]
    summary_rows: list[list[Any]] = [
        [text["member_count"], len(members)],
        [text["demand"], sum(m["demand"] for m in members)],
        [text["seats"], sum(m["seats"] for m in members)],
    ]
    for metric in chain:
        for part, value in zip(("total_part", "unique_part"), _pair(totals, metric), strict=True):
            summary_rows.append([text[metric] + _join(lang, text[part]), value])
    summary_rows += [
        [text["hires_at_fairs"] + _join(lang, text["total_part"]), fair_hires[0]],
        [text["hires_at_fairs"] + _join(lang, text["unique_part"]), fair_hires[1]],
        [text["internship_subsidy"], report["internship_subsidies"]],
        [text["training_subsidy"], report["training_subsidy"]],
        [text["subsidy_total"], report["subsidies_total"]],
    ]
    member_rows: list[list[Any]] = [
        [
            m["name"], text.get(f"kind.{m['kind']}", m["kind"]), _day(m["joined_at"]),
            _day(m["left_at"]), m["demand"], m["seats"],
            *(n for metric in chain for n in _pair(m, metric)), *pair,
        ]
        for m, pair in zip(members, at_fairs, strict=True)
    ]  # fmt: skip
    member_rows.append(
        [
            text["total"], "", "", "", summary_rows[1][1], summary_rows[2][1],
            *(n for metric in chain for n in _pair(totals, metric)), *fair_hires,
        ]
    )  # fmt: skip
    occupations = report["by_occupation"]
    occupation_rows: list[list[Any]] = [
        [o["occupation"], o["technical"], o["skilled"], o["seats"],
         *(n for metric in chain for n in _pair(o, metric))]
        for o in occupations
    ]  # fmt: skip
    # A person may train for two occupations: only the totals (人次) add up across rows.
    occupation_rows.append(
        [text["total"],
         *(sum(o[k] for o in occupations) for k in ("technical", "skilled", "seats")),
         *(n for metric in chain for n in (sum(_pair(o, metric)[0] for o in occupations), ""))]
    )  # fmt: skip
    offers = report["by_offer"]
    offer_rows: list[list[Any]] = [
        [o["occupation"], names.get(o["member_id"], o["member_id"]),
         text.get(f"kind.{o['kind']}", o["kind"]), o["seats"],
         *(n for metric in chain for n in _pair(o, metric)),
         o["subsidy_per_trainee"], o["training_subsidy"]]
        for o in offers
    ]  # fmt: skip
    offer_rows.append(
        [text["total"], "", "", sum(o["seats"] for o in offers),
         *(n for metric in chain for n in (sum(_pair(o, metric)[0] for o in offers), "")),
         "", report["training_subsidy"]]
    )  # fmt: skip
    channels = report["hires_by_channel"]
    channel_rows: list[list[Any]] = [
        [text[f"channel.{c}"], *_pair(channels, c)] for c in HIRE_CHANNELS
    ]
    channel_rows.append([text["total"], *_pair(totals, "hires")])
    subsidies = report["subsidies"]
    subsidy_rows: list[list[Any]] = [
        [s["name"], s["semester"], s["staff"], s["internship_posts"], s["amount"]]
        for s in subsidies
    ]
    subsidy_rows.append(
        [text["total"], "", "", sum(s["internship_posts"] for s in subsidies),
         report["internship_subsidies"]]
    )  # fmt: skip

    def plain(*keys: str) -> list[tuple[str, str]]:
        return [(text[k], "") for k in keys]

    return [
        Table("summary", text["summary"], plain("metric", "value"), summary_rows, lang),
        Table(
            "members",
            text["members"],
            plain("member", "kind", "joined_at", "left_at", "demand", "seats")
            + _metric_columns(text, (*chain, "hires_at_fairs")),
            member_rows,
            lang,
        ),
        Table(
            "occupations",
            text["occupations"],
            plain("occupation", "technical", "skilled", "seats") + _metric_columns(text, chain),
            occupation_rows,
            lang,
        ),
        Table(
            "offers",
            text["offers"],
            plain("occupation", "institution", "kind", "seats")
            + _metric_columns(text, chain)
            + plain("subsidy_per_trainee", "training_subsidy"),
            offer_rows,
            lang,
        ),
        Table(
            "channels",
            text["channels"],
            plain("channel") + _metric_columns(text, ("hires",)),
            channel_rows,
            lang,
        ),
        Table(
            "subsidies",
            text["subsidies"],
            plain("enterprise", "semester", "staff", "internship_posts", "amount"),
            subsidy_rows,
            lang,
        ),
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
