"""The day's report: the figures organizers publish the same evening, as JSON, CSV and A4 HTML
(the Excel workbook is report_xlsx).

Every figure comes from the same counters as /stats, read in one snapshot with the registry
(employers, positions, schools), so the report and the live dashboard never disagree.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from fairhub.sql import query
from fairhub.stats import read_stats

# The employer table: (column, zh, en). Figures come from the employer's counters.
EMPLOYER_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("name", "企业", "Employer"),
    ("booth", "展位", "Booth"),
    ("positions", "职位数", "Positions"),
    ("openings", "招聘人数", "Openings"),
    ("page_visits", "扫码访问", "Page visits"),
    ("leads", "到展位求职者", "Booth leads"),
    ("resumes_received", "收到简历", "Résumés received"),
    ("resumes_downloaded", "下载简历", "Résumés downloaded"),
    ("intents", "签约意向", "Intents"),
    ("consultations", "咨询", "Consultations"),
)

# The summary: (key, zh, en), in the order organizers read it.
SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("employers", "参会企业", "Employers"),
    ("positions", "提供职位", "Positions offered"),
    ("openings", "招聘人数", "Openings"),
    ("job_types", "职位类别", "Job types"),
    ("colleges", "到场求职者来自高校", "Colleges of the visitors"),
    ("colleges_registered", "登记高校", "Colleges registered"),
    ("seekers_registered", "登记求职者", "Seekers registered"),
    ("visitors", "入场人数", "Seekers at the gate"),
    ("checkins", "入场人次", "Gate entries"),
    ("checkins_denied", "拒绝入场次数", "Entries refused"),
    ("resumes_submitted", "投递简历份数", "Résumés sent"),
    ("resumes_online", "其中线上投递", "… online"),
    ("resumes_onsite", "其中现场投递", "… on site"),
    ("resumes_live", "其中直播投递", "… from livestreams"),
    ("resume_senders", "投递简历人数", "Seekers who sent résumés"),
    ("resumes_downloaded", "企业下载简历", "Résumés downloaded"),
    ("qr_visits", "扫码访问次数", "Page visits from QR codes"),
    ("qr_visitors", "扫码访问人数", "Visitors from QR codes"),
    ("booth_visits", "展位扫码次数", "Booth scans"),
    ("intents", "达成签约意向", "Employment intents"),
    ("consultations", "咨询次数", "Consultations"),
    ("live_views", "直播观看次数", "Livestream views"),
    ("live_viewers", "直播观看人数", "Livestream viewers"),
)

TEXT = {
    "zh": {
        "title": "招聘会数据报告", "summary": "总体数据", "by_employer": "企业明细",
        "job_types": "职位类别", "job_type": "类别", "schools": "到场人数最多的高校",
        "school": "高校", "as_of": "数据截至", "venue": "地点", "time": "时间",
        "metric": "指标", "value": "数值", "none": "（无）",
    },
    "en": {
        "title": "Job fair report", "summary": "Summary", "by_employer": "By employer",
        "job_types": "Job types", "job_type": "Job type", "schools": "Top colleges at the gate",
        "school": "College", "as_of": "Figures as of", "venue": "Venue", "time": "When",
        "metric": "Metric", "value": "Value", "none": "(none)",
    },
}  # fmt: skip


def _total(counts: dict[str, dict[str, int]], metric: str) -> int:
    return counts.get(metric, {}).get("total", 0)


def _unique(counts: dict[str, dict[str, int]], metric: str) -> int:
    return counts.get(metric, {}).get("unique", 0)


def _employer_figures(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    return {
        "page_visits": _total(counts, "qr_scans"),
        "leads": _unique(counts, "booth_visits"),
        "resumes_received": _total(counts, "resumes_submitted"),
        "resumes_downloaded": _total(counts, "resumes_downloaded"),
        "intents": _total(counts, "intents"),
        "consultations": _total(counts, "consultations"),
    }


async def build_report(db: asyncpg.Pool | asyncpg.Connection, fair: str) -> dict[str, Any] | None:
    """The report of one fair (None if there is no such fair), from one database snapshot."""

    async def read(conn: asyncpg.Connection) -> dict[str, Any] | None:
        registry = await conn.fetchrow(query("report_registry"), fair)
        if registry is None:
            return None
        stats = await read_stats(conn, fair)
        employers = await conn.fetch(query("report_employers"), fair)
        job_types = await conn.fetch(query("report_job_types"), fair)
        return _shape(dict(registry), stats, employers, job_types)

    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return await read(conn)
    async with db.transaction(isolation="repeatable_read", readonly=True):
        return await read(db)


def _shape(
    registry: dict[str, Any],
    stats: dict[str, Any],
    employers: list[asyncpg.Record],
    job_types: list[asyncpg.Record],
) -> dict[str, Any]:
    totals = stats["totals"]
    channels = stats["resumes_by_channel"]
    counted = {row["employer_id"]: row["totals"] for row in stats["by_employer"]}
    table = []
    for row in employers:
        counts = counted.get(row["id"], {})
        if row["revoked"] and not counts:
            continue
        table.append(
            {
                "employer_id": row["id"],
                "name": row["name"],
                "booth": row["booth"],
                "positions": row["positions"],
                "openings": row["openings"],
                **_employer_figures(counts),
            }
        )
    table.sort(key=lambda e: (-e["resumes_received"], -e["leads"], e["name"]))
    live = [row for row in employers if not row["revoked"]]
    at_gate = [s for s in stats["by_school"] if _unique(s["totals"], "checkins") > 0]
    schools = sorted(
        ({"school_id": s["school_id"], "name": s.get("name", s["school_id"]),
          "visitors": _unique(s["totals"], "checkins")} for s in at_gate),
        key=lambda s: (-s["visitors"], s["name"]),
    )  # fmt: skip
    summary = {
        "employers": len(live),
        "positions": sum(e["positions"] for e in live),
        "openings": sum(e["openings"] for e in live),
        "job_types": len(job_types),
        "colleges": len(at_gate),
        "colleges_registered": registry["schools"],
        "seekers_registered": registry["seekers"],
        "visitors": _unique(totals, "checkins"),
        "checkins": _total(totals, "checkins"),
        "checkins_denied": _total(totals, "checkins_denied"),
        "resumes_submitted": _total(totals, "resumes_submitted"),
        "resumes_online": channels.get("online", 0),
        "resumes_onsite": channels.get("onsite", 0),
        "resumes_live": channels.get("live", 0),
        "resume_senders": _unique(totals, "resumes_submitted"),
        "resumes_downloaded": _total(totals, "resumes_downloaded"),
        "qr_visits": _total(totals, "qr_scans"),
        "qr_visitors": _unique(totals, "qr_scans"),
        "booth_visits": _total(totals, "booth_visits"),
        "intents": _total(totals, "intents"),
        "consultations": _total(totals, "consultations"),
        "live_views": _total(totals, "live_views"),
        "live_viewers": _unique(totals, "live_views"),
    }
    fair = {k: registry[k] for k in ("id", "name", "kind", "venue")}
    fair |= {k: registry[k].isoformat() for k in ("starts_at", "ends_at")}
    return {
        "fair": fair,
        "as_of": stats["as_of"],
        "summary": summary,
        "resumes_by_channel": channels,
        "checkins_by_verdict": stats["checkins_by_verdict"],
        "totals": totals,
        "job_types": [dict(row) for row in job_types],
        "schools": schools,
        "employers": table,
    }


# OWASP's CSV-injection rule: a spreadsheet runs a cell starting with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Text that is a whole decimal number ("-3", "+86", "2.5") is read as a number, never run.
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def spreadsheet_cell(value: Any) -> Any:
    """A cell that Excel or WPS shows and never runs: formula-like text gets a leading `'`.

    Figures the report computes (int, float) stay numbers, negative ones too; text that is a
    plain number stays as it is; anything else that starts like a formula is neutralized
    (an employer may name itself `=HYPERLINK(...)` with its own token)."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_rows(rows: Iterable[Iterable[Any]]) -> list[list[Any]]:
    """Rows ready for csv.writer with every cell passed through `spreadsheet_cell`."""
    return [[spreadsheet_cell(cell) for cell in row] for row in rows]


def report_csv(report: dict[str, Any], lang: str = "zh") -> bytes:
    """Two tables, summary then employers, in UTF-8 with a BOM so that Excel reads Chinese."""
    text = TEXT[lang]
    column = 1 if lang == "zh" else 2
    rows: list[list[Any]] = [
        [text["title"], report["fair"]["name"]],
        [text["as_of"], report["as_of"]],
        [],
        [text["metric"], text["value"]],
        *([row[column], report["summary"][row[0]]] for row in SUMMARY_ROWS),
        [],
        [c[column] for c in EMPLOYER_COLUMNS],
        *([employer[c[0]] for c in EMPLOYER_COLUMNS] for employer in report["employers"]),
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(safe_rows(rows))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def report_html(report: dict[str, Any], lang: str = "zh", timezone: str = "UTC") -> str:
    """A page that prints on A4: summary, job types, colleges, then the employer table."""
    zone = ZoneInfo(timezone)

    def _local(iso: str) -> str:
        return datetime.fromisoformat(iso).astimezone(zone).strftime("%Y-%m-%d %H:%M")

    text = TEXT[lang]
    column = 1 if lang == "zh" else 2
    fair = report["fair"]

    def table(head: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
        cells = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = "".join(
            "<tr>"
            + "".join(
                f'<td class="n">{v:,}</td>' if i >= numeric_from and isinstance(v, int)
                else f"<td>{escape(str(v)) if v is not None else ''}</td>"
                for i, v in enumerate(row)
            )
            + "</tr>"
            for row in rows
        )  # fmt: skip
        if not rows:
            body = f'<tr><td colspan="{len(head)}">{text["none"]}</td></tr>'
        return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"

    summary = table(
        [text["metric"], text["value"]],
        [[row[column], report["summary"][row[0]]] for row in SUMMARY_ROWS],
    )
    job_types = table(
        [text["job_type"], SUMMARY_ROWS[1][column], SUMMARY_ROWS[2][column]],
        [[j["job_type"], j["positions"], j["openings"]] for j in report["job_types"]],
    )
    schools = table(
        [text["school"], SUMMARY_ROWS[7][column]],
        [[s["name"], s["visitors"]] for s in report["schools"][:20]],
    )
    employers = table(
        [c[column] for c in EMPLOYER_COLUMNS],
        [[e[c[0]] for c in EMPLOYER_COLUMNS] for e in report["employers"]],
        numeric_from=2,
    )
    starts, ends = _local(fair["starts_at"]), _local(fair["ends_at"])
    ends = ends[-5:] if ends[:10] == starts[:10] else ends  # the same day: its time only
    when = f"{starts} – {ends} ({timezone})"
    venue = f" · {text['venue']}: {escape(fair['venue'])}" if fair["venue"] else ""
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<title>{escape(fair["name"])} · {text["title"]}</title>
<style>{_CSS}</style></head><body>
<header><h1>{escape(fair["name"])}</h1><p class="sub">{text["title"]}</p>
<p class="meta">{text["time"]}: {when}{venue} · {text["as_of"]} {_local(report["as_of"])}</p>
</header>
<section class="cols"><div><h2>{text["summary"]}</h2>{summary}</div>
<div><h2>{text["job_types"]}</h2>{job_types}<h2>{text["schools"]}</h2>{schools}</div></section>
<section class="wide"><h2>{text["by_employer"]}</h2>{employers}</section>
</body></html>"""


_CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font: 10.5pt/1.45 "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
  color: #111; margin: 0 auto; max-width: 190mm; padding: 8mm 0; }
h1 { font-size: 20pt; margin: 0; } h2 { font-size: 12pt; margin: 5mm 0 2mm; }
.sub { font-size: 12pt; margin: 1mm 0; color: #333; } .meta { color: #555; margin: 0 0 3mm; }
header { border-bottom: 2px solid #111; margin-bottom: 2mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 0.5pt solid #bbb; padding: 1.2mm 1.6mm; text-align: left;
  vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.n, th:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; } thead { display: table-header-group; }
.cols { display: grid; grid-template-columns: 1fr 1fr; gap: 8mm; }
.wide th:nth-child(2), .wide td:nth-child(2) { text-align: left; }
@media print { body { padding: 0; } h2 { break-after: avoid; } }
@media (max-width: 700px) { .cols { grid-template-columns: 1fr; } body { padding: 4mm; } }
"""


def _width(text: str) -> int:
    """Columns a string takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(value: Any, width: int, right: bool) -> str:
    text = f"{value:,}" if isinstance(value, int) else str(value or "")
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def report_text(report: dict[str, Any], lang: str = "zh", timezone: str = "UTC") -> str:
    """The report for a terminal: the summary, then the employer table, columns aligned."""
    text = TEXT[lang]
    column = 1 if lang == "zh" else 2
    as_of = datetime.fromisoformat(report["as_of"]).astimezone(ZoneInfo(timezone))
    lines = [
        f"{report['fair']['name']} · {text['title']}",
        f"{text['as_of']} {as_of:%Y-%m-%d %H:%M:%S} ({timezone})",
        "",
    ]
    labels = [row[column] for row in SUMMARY_ROWS]
    label_width = max(map(_width, labels))
    for label, row in zip(labels, SUMMARY_ROWS, strict=True):
        lines.append(f"  {_pad(label, label_width, False)}  {report['summary'][row[0]]:>10,}")
    head = [c[column] for c in EMPLOYER_COLUMNS]
    rows = [[e[c[0]] for c in EMPLOYER_COLUMNS] for e in report["employers"]]
    widths = [
        max([_width(h)] + [_width(_pad(r[i], 0, False)) for r in rows]) for i, h in enumerate(head)
    ]
    lines += ["", text["by_employer"]]
    for values in [head, *rows]:
        cells = [_pad(v, widths[i], right=i >= 2) for i, v in enumerate(values)]
        lines.append("  " + "  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
