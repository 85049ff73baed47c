"""The day's report as an Excel workbook: one sheet per table, figures as numbers."""

from __future__ import annotations

from typing import Any

from fairhub import xlsx
from fairhub.report import EMPLOYER_COLUMNS, SUMMARY_ROWS, TEXT, safe_rows


def report_xlsx(report: dict[str, Any], lang: str = "zh") -> bytes:
    """One sheet per table (summary, employers, job types, colleges); figures are numbers, so
    the organizer can sum and chart them; text is neutralized as in the CSV."""
    text = TEXT[lang]
    column = 1 if lang == "zh" else 2
    summary = [
        [text["metric"], text["value"]],
        *([row[column], report["summary"][row[0]]] for row in SUMMARY_ROWS),
        [],
        [text["title"], report["fair"]["name"]],
        [text["as_of"], report["as_of"]],
    ]
    employers = [
        [c[column] for c in EMPLOYER_COLUMNS],
        *([e[c[0]] for c in EMPLOYER_COLUMNS] for e in report["employers"]),
    ]
    job_types = [
        [text["job_type"], SUMMARY_ROWS[1][column], SUMMARY_ROWS[2][column]],
        *([j["job_type"], j["positions"], j["openings"]] for j in report["job_types"]),
    ]
    schools = [
        [text["school"], SUMMARY_ROWS[7][column]],
        *([s["name"], s["visitors"]] for s in report["schools"]),
    ]
    tables = [
        (text["summary"], summary, [24, 16]),
        (text["by_employer"], employers, [28] + [12] * (len(EMPLOYER_COLUMNS) - 1)),
        (text["job_types"], job_types, [20, 12, 12]),
        (text["schools"], schools, [28, 12]),
    ]
    return xlsx.workbook(
        [(title, safe_rows(rows)) for title, rows, _ in tables],
        widths={title[:31]: widths for title, _, widths in tables},
    )
