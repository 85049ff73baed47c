"""Monthly pay as spreadsheets write it ("5000-8000", "8k-12k", "1.2万以上", "面议") and as
phone pages show it. Pure functions: the import parses one cell, the pages format three columns.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from typing import Any

# A figure with an optional unit: 8k, 8千, 1.2万, 6000元.
_FIGURE = r"(\d+(?:\.\d+)?)\s*(k|千|w|万)?"
_RANGE = re.compile(rf"^{_FIGURE}\s*(?:-|~|—|–|至|到)\s*{_FIGURE}$", re.IGNORECASE)
_ONE = re.compile(rf"^{_FIGURE}\s*(以上|起|\+|以下)?$", re.IGNORECASE)
# What may follow the figures without changing them: the currency and the period.
_PER_MONTH = re.compile(r"\s*(元|人民币|rmb|¥)?\s*(/|每)?\s*(月|month)?\s*$", re.IGNORECASE)
_SCALE = {None: 1, "k": 1000, "千": 1000, "w": 10000, "万": 10000}
_NO_RANGE: dict[str, Any] = {"salary_min": None, "salary_max": None}


def _yuan(number: str, unit: str | None, fallback: str | None = None) -> int:
    scale = _SCALE[(unit or fallback or "").lower() or None]
    return int(Decimal(number) * scale)


def parse_salary(cell: str) -> dict[str, Any]:
    """salary_min / salary_max / salary_text from one cell; words that are not a monthly
    figure (面议, 年薪20万) are kept as text, never guessed at."""
    text = unicodedata.normalize("NFKC", cell).strip()
    bare = _PER_MONTH.sub("", text.replace(",", "").replace("¥", "")).strip()
    try:
        if ranged := _RANGE.match(bare):
            low_n, low_u, high_n, high_u = ranged.groups()
            low = _yuan(low_n, low_u, high_u)  # "8-12k": the unit is written once
            return {"salary_min": low, "salary_max": _yuan(high_n, high_u), "salary_text": None}
        if one := _ONE.match(bare):
            figure = _yuan(one[1], one[2])
            return {
                "salary_min": None if one[3] == "以下" else figure,
                "salary_max": None if one[3] in ("以上", "起", "+") else figure,
                "salary_text": None,
            }
    except InvalidOperation:
        pass
    return {**_NO_RANGE, "salary_text": text or None}


_WORDS = {
    "zh": {"one": "{low}元/月", "range": "{low}-{high}元/月", "from": "{low}元/月起",
           "upto": "{high}元/月以下"},
    "en": {"one": "¥{low}/month", "range": "¥{low}–{high}/month", "from": "from ¥{low}/month",
           "upto": "up to ¥{high}/month"},
}  # fmt: skip


def format_salary(position: dict[str, Any], lang: str = "zh") -> str:
    """The pay as a phone shows it: the range, the words, or both; empty when unknown."""
    words = _WORDS["en" if lang == "en" else "zh"]
    low, high = position.get("salary_min"), position.get("salary_max")
    if low is not None and high is not None:
        figure = words["one"] if low == high else words["range"]
    elif low is not None:
        figure = words["from"]
    elif high is not None:
        figure = words["upto"]
    else:
        figure = ""
    style = "{:,}" if lang == "en" else "{}"
    shown = {k: style.format(v) for k, v in (("low", low), ("high", high)) if v is not None}
    parts = [figure.format(**shown)] if figure else []
    if position.get("salary_text"):
        parts.append(str(position["salary_text"]))
    return " · ".join(parts)
