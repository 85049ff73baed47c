"""The alliance's report as a page that prints on A4 (landscape: the member table is wide).

The same tables as the CSV and the workbook (alliance_report.report_tables); a metric's two
columns (total, people) share one heading. Every text is escaped: names come from secretaries
and imports.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from fairhub.alliance_report import Table, report_tables
from fairhub.alliance_report_text import TEXT


def _cell(value: Any, first: bool) -> str:
    if first or not _numeric(value):
        return f"<td>{escape(str(value)) if value is not None else ''}</td>"
    return f'<td class="n">{value:,}</td>'


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _th(text: str, numeric: bool, extra: str = "") -> str:
    align = ' class="n"' if numeric else ""
    return f"<th{align}{extra}>{escape(text)}</th>"


def _head(table: Table) -> str:
    """One heading row, or two when some columns share a heading (a metric's two counts);
    headings of figures are aligned with them, to the right."""
    numeric = {i for row in table.rows for i, v in enumerate(row) if i and _numeric(v)}
    if not any(sub for _, sub in table.columns):
        row = "".join(_th(top, i in numeric) for i, (top, _) in enumerate(table.columns))
        return f"<tr>{row}</tr>"
    upper, lower = [], []
    index = 0
    for (top, has_sub), group in groupby(table.columns, key=lambda c: (c[0], bool(c[1]))):
        cells = list(group)
        if has_sub:
            upper.append(f'<th colspan="{len(cells)}" class="group">{escape(top)}</th>')
            lower += [_th(sub, True) for _, sub in cells]
        else:
            upper += [_th(top, index + k in numeric, ' rowspan="2"') for k in range(len(cells))]
        index += len(cells)
    return f"<tr>{''.join(upper)}</tr><tr>{''.join(lower)}</tr>"


def _table(table: Table, none: str) -> str:
    body = "".join(
        "<tr>" + "".join(_cell(v, i == 0) for i, v in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    if not table.rows:
        body = f'<tr><td colspan="{len(table.columns)}">{none}</td></tr>'
    return (
        f'<section data-table="{table.key}"><h2>{escape(table.title)}</h2>'
        f"<table><thead>{_head(table)}</thead><tbody>{body}</tbody></table></section>"
    )


def alliance_report_html(report: dict[str, Any], lang: str = "zh", timezone: str = "UTC") -> str:
    """A page that prints on A4: the alliance, its rules, then every table of the report."""
    text = TEXT[lang]
    about = report["alliance"]
    as_of = datetime.fromisoformat(report["as_of"]).astimezone(ZoneInfo(timezone))
    share = f"{about['internship_share'] * 100:g}"
    rule = text["rule"].format(share=share, amount=f"{about['internship_subsidy']:,}")
    region = f"{text['region']}: {escape(about['region'])} · " if about["region"] else ""
    tables = report_tables(report, lang)
    summary, rest = tables[0], tables[1:]
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<title>{escape(about["name"])} · {text["title"]}</title>
<style>{_CSS}</style></head><body>
<header><h1>{escape(about["name"])}</h1><p class="sub">{text["title"]}</p>
<p class="meta">{region}{text["as_of"]} {as_of:%Y-%m-%d %H:%M} ({escape(timezone)})</p>
<p class="meta">{text["rules"]}: {escape(rule)}</p></header>
<div class="cols">{_table(summary, text["none"])}<div>{_table(rest[3], text["none"])}
{_table(rest[4], text["none"])}</div></div>
{"".join(_table(t, text["none"]) for t in rest[:3])}
</body></html>"""


_CSS = """
@page { size: A4 landscape; margin: 12mm 10mm; }
* { box-sizing: border-box; }
body { font: 9.5pt/1.4 "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
  color: #111; margin: 0 auto; max-width: 277mm; padding: 8mm 0; }
h1 { font-size: 18pt; margin: 0; } h2 { font-size: 11.5pt; margin: 4mm 0 1.5mm; }
.sub { font-size: 12pt; margin: 1mm 0; color: #333; } .meta { color: #555; margin: 0 0 1mm; }
header { border-bottom: 2px solid #111; padding-bottom: 2mm; margin-bottom: 2mm; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 0.5pt solid #bbb; padding: 1mm 1.2mm; text-align: left;
  vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; font-size: 8.5pt; }
th.group { text-align: center; border-bottom: 0.5pt solid #ddd; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:last-child td { font-weight: 600; border-top: 1pt solid #111; }
section[data-table="summary"] tbody tr:last-child td { font-weight: 400; border-top: 0; }
tr { break-inside: avoid; } thead { display: table-header-group; }
.cols { display: grid; grid-template-columns: 1fr 1.3fr; gap: 8mm; }
@media print { body { padding: 0; } h2 { break-after: avoid; } }
@media (max-width: 700px) { .cols { grid-template-columns: 1fr; } body { padding: 4mm; } }
"""
