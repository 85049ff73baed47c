"""The words of an import's errors, in Chinese for the organizers and in English on request.

Every text is built in both languages where the problem is found (`Said`), so the reader of a
file never needs to know the answer's language; the gateway picks one with `?lang=`. Columns
are named by their Chinese headers as in the templates, pydantic's messages become short
phrases by error type.
"""

# Chinese texts use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

Lang = Literal["zh", "en"]

# field -> the column's header in the templates (fairhub/templates.py; a test keeps them equal).
HEADERS: dict[str, dict[str, str]] = {
    "employers": {"name": "企业名称", "booth": "展位号", "industry": "所属行业"},
    "positions": {
        "employer": "企业名称",
        "employer_id": "企业编号",
        "title": "岗位名称",
        "job_type": "岗位类别",
        "headcount": "招聘人数",
        "description": "岗位描述",
        "salary": "薪资",
        "salary_min": "最低薪资",
        "salary_max": "最高薪资",
        "salary_text": "薪资",
        "location": "工作地点",
    },
    "seekers": {
        "name": "姓名",
        "school": "学校",
        "major": "专业",
        "phone": "手机号",
        "graduation_year": "毕业年份",
    },
}


@dataclass(frozen=True)
class Said:
    """One text in both languages."""

    en: str
    zh: str

    def say(self, lang: Lang) -> str:
        return self.en if lang == "en" else self.zh


@dataclass(frozen=True)
class Problem:
    """What is wrong in a row, and the field (registry name) of the cell at fault, if one."""

    text: Said
    field: str | None = None


# Whole files that are not what the import reads.
NOT_A_MEMBER = "企业名称：“{name}” 不是本场所属联盟在开幕日的成员"
MEMBERS_EMPTY = Said(
    "the file is empty: send a header row and one row per member",
    "文件是空的：请给出表头和每个成员一行",
)
MEMBERS_HEADER = Said(
    "the header must name the columns name (名称) and kind (类型)", "表头须有 名称 和 类型 两列"
)
XLSX_NOT_CSV = Said("this is an .xlsx workbook, not CSV", "这是 .xlsx 工作簿，不是 CSV")
OLD_XLS = Said(
    "this is an old .xls workbook: save it as .xlsx or 'CSV UTF-8' and retry",
    "这是旧版 .xls 工作簿：请另存为 .xlsx 或“CSV UTF-8”后重试",
)
NUL_BYTES = Said(
    "the file is not text (it contains NUL bytes): upload a CSV file",
    "文件不是文本（含有 NUL 字节）：请上传 CSV 文件",
)
NOT_TEXT = Said(
    "the file is not UTF-8 or GB18030 text: save it as 'CSV UTF-8' and retry",
    "文件不是 UTF-8 或 GB18030 文本：请另存为“CSV UTF-8”后重试",
)


EMPLOYER_MISSING = Said(
    "employer: missing (the employer's name as in the employers file)",
    "企业名称：未填写（应与企业表中的名称一致）",
)


def taken(field: str, value: str) -> Said:
    """The fair has this employer's name (`name`) or seeker's phone (`phone`) already."""
    if field == "name":
        return Said(
            f"name: an employer named {value!r} exists in this fair",
            f"企业名称：本场已有名为“{value}”的企业",
        )
    return Said(
        f"phone: {value} is already registered in this fair", f"手机号：{value} 已在本场登记"
    )


def also_on_line(field: str, value: str, line: int) -> Said:
    """An earlier line of the same file has this employer's name or seeker's phone."""
    if field == "name":
        shown = Said(f"name: {value!r}", f"企业名称：“{value}”")
    else:
        shown = Said(f"phone: {value}", f"手机号：{value}")
    return Said(
        f"{shown.en} is also on line {line} of this file", f"{shown.zh} 与本文件第 {line} 行重复"
    )


def no_employer_id(given: str) -> Said:
    """A positions file names an employer id the fair has not (or no longer)."""
    return Said(
        f"employer_id: no employer {given!r} in this fair", f"企业编号：本场没有企业“{given}”"
    )


def no_employer_named(name: str) -> Said:
    """A positions file names an employer the fair has not."""
    return Said(
        f"employer: no employer named {name!r} in this fair",
        f"企业名称：本场没有名为“{name}”的企业",
    )


def lang_of(value: str | None) -> Lang:
    """Chinese unless English is asked for (`?lang=en`)."""
    return "en" if (value or "").lower().startswith("en") else "zh"


def header(kind: str, field: str) -> str:
    """The column's Chinese header; the field's own name for one the templates do not have."""
    return HEADERS.get(kind, {}).get(field, field)


def join(texts: Sequence[Said]) -> Said:
    """Several problems of one line as one text."""
    return Said("; ".join(t.en for t in texts), "；".join(t.zh for t in texts))


# Our own validators' messages (fairhub/registry.py, fairhub/events.py), by their English start.
_OWN: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"below salary_min \((?P<low>\d+)\)"), "低于最低薪资（{low}）"),
    (re.compile(r"not a phone number"), "不是有效的电话号码（只能是数字，可以 + 开头）"),
    (re.compile(r"must be an integer, not true or false"), "应为整数"),
)


_PAY = frozenset({"salary_min", "salary_max", "salary_text"})


def _phrase(item: dict[str, Any]) -> str | None:
    """A short Chinese phrase for one pydantic error, None for a type without one."""
    kind, ctx = item["type"], item.get("ctx") or {}
    if kind in ("int_parsing", "int_type", "int_from_float", "int_parsing_size"):
        return "应为整数"
    if kind == "missing":
        return "必填，不能为空"
    if kind in ("string_too_short", "string_type") and ctx.get("min_length", 1) <= 1:
        return "不能为空"
    if kind == "string_too_long":
        return f"不能超过 {ctx.get('max_length')} 个字"
    if kind == "string_pattern_mismatch":
        return "含有不允许的字符"
    if kind == "greater_than_equal":
        return f"不能小于 {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"不能大于 {ctx.get('le')}"
    if kind == "value_error":
        message = str(ctx.get("error", ""))
        for pattern, zh in _OWN:
            if found := pattern.match(message):
                return zh.format(**found.groupdict())
    return None


def validation_problems(
    kind: str, error: ValidationError, cells: dict[str, str] | None = None
) -> list[Problem]:
    """One problem per wrong cell of a row, naming its column in Chinese; `cells` names the
    columns the row had (pay read from one 薪资 cell is that cell's fault)."""
    problems = []
    for item in error.errors(include_url=False):
        field = str(item["loc"][0]) if item["loc"] else None
        message = item["msg"].removeprefix("Value error, ")
        en = f"{field}: {message}" if field else message
        if field in _PAY and field not in (cells or {}) and "salary" in (cells or {}):
            field = "salary"
        column = header(kind, field) if field else "本行"
        phrase = _phrase(dict(item))
        zh = f"{column}：{phrase}" if phrase else f"{column}：填写有误（{message}）"
        problems.append(Problem(Said(en, zh), field))
    return problems
