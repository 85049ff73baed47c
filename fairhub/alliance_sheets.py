"""An alliance secretary's spreadsheets (members, job demand, the training menu): the columns
with their Chinese headers, reading a CSV or .xlsx into rows, and the templates to fill in.

Pure functions, no I/O, like `csvimport` for a fair's registry: the same header rules (title
lines above the header, full-width forms, a trailing "(…)" note), the same encodings, the same
line numbers. Cells in words the secretary writes (企业, 订单班, 技能) become the API's values.
"""

# Chinese texts use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from fairhub import xlsx
from fairhub.alliances import KIND_WORDS
from fairhub.csvimport import CsvError, decode
from fairhub.import_texts import Said

SheetKind = Literal["members", "demands", "offers"]
SHEET_KINDS: tuple[SheetKind, ...] = ("members", "demands", "offers")


@dataclass(frozen=True)
class Column:
    """A column: its field, its header in templates, other headers it is known by, an example."""

    field: str
    header: str
    aliases: tuple[str, ...]
    example: str | int
    note: str = ""


COLUMNS: dict[SheetKind, tuple[Column, ...]] = {
    "members": (
        Column(
            "name", "名称", ("name", "成员名称", "单位名称"), "示例职业技术学院", "在联盟内唯一"
        ),
        Column(
            "kind",
            "类型",
            ("kind", "成员类型"),
            "职业院校",
            "学校、技工院校、职业院校、企业、行业协会、培训机构",
        ),
        Column("joined_at", "加入日期", ("joined_at", "入盟日期"), "2026-03-01", "不填为今天"),
        Column("staff", "职工人数", ("staff", "员工人数"), 300, "企业填写，用于实习补贴的 2% 规则"),
        Column("left_at", "退出日期", ("left_at",), "", "已退出的成员填写；之后不再计入"),
    ),
    "demands": (
        Column(
            "member", "企业名称", ("member", "企业", "用人单位", "成员名称"), "示例机械有限公司"
        ),
        Column("member_id", "成员编号", ("member_id",), "", "可代替企业名称"),
        Column("occupation", "职业（工种）", ("occupation", "职业", "工种"), "钳工"),
        Column("category", "需求类别", ("category", "类别"), "技能", "技术管理 或 技能"),
        Column("headcount", "需求人数", ("headcount", "人数"), 5),
        Column("region", "地区", ("region", "区域"), "京口区"),
        Column("period", "期间", ("period", "周期"), "2026年第三季度"),
    ),
    "offers": (
        Column("member", "培训机构", ("member", "机构名称", "institution"), "示例职业培训学校"),
        Column("member_id", "机构编号", ("member_id",), "", "可代替培训机构"),
        Column("occupation", "职业（工种）", ("occupation", "职业", "工种"), "焊工"),
        Column(
            "kind",
            "培训类型",
            ("kind", "类型"),
            "政府补贴培训",
            "政府补贴培训、技能等级认定、订单班",
        ),
        Column("seats", "培训名额", ("seats", "名额"), 40),
        Column("region", "地区", ("region", "区域"), "京口区"),
        Column("credit_stars", "信用星级", ("credit_stars", "星级"), 4, "0 到 5，也可写 ★★★★"),
        Column("subsidy_per_trainee", "每人补贴（元）", ("subsidy_per_trainee", "补贴标准"), 1200),
        Column("period", "期间", ("period", "周期"), "2026年第三季度"),
        Column(
            "enterprises",
            "订单企业",
            ("enterprises", "合作企业"),
            "",
            "订单班填写：企业名称，多个用、分隔；取这些企业同一职业的需求",
        ),
        Column("demand_ids", "需求编号", ("demand_ids",), "", "可代替订单企业，多个用、分隔"),
    ),
}
REQUIRED: dict[SheetKind, tuple[str, ...]] = {
    "members": ("name", "kind"),
    "demands": ("occupation", "category", "headcount"),
    "offers": ("occupation", "kind", "seats"),
}
TITLES: dict[SheetKind, str] = {"members": "成员", "demands": "用工需求", "offers": "培训菜单"}
CATEGORY_WORDS = {"技术管理": "technical", "技术管理类": "technical", "管理": "technical"} | {
    "技能": "skilled",
    "技能类": "skilled",
    "技能人才": "skilled",
}
OFFER_KIND_WORDS = {
    "政府补贴培训": "subsidised",
    "补贴培训": "subsidised",
    "技能等级认定": "certification",
    "等级认定": "certification",
    "订单班": "project_class",
    "项目班": "project_class",
    "项目制培训": "project_class",
}
WORDS: dict[str, dict[str, str]] = {
    "kind": KIND_WORDS | OFFER_KIND_WORDS,
    "category": CATEGORY_WORDS,
}
MAX_TITLE_LINES = 5
_PUNCT = re.compile(r"[\s_\-*:]+")
_TRAILING_NOTE = re.compile(r"\(.*\)$")
_LIST = re.compile(r"[、,，;；/\s]+")
_WHOLE = re.compile(r"-?\d{1,9}")
_NUMBERS = frozenset({"staff", "headcount", "seats", "credit_stars"})


def header(kind: SheetKind, field: str) -> str:
    """The column's Chinese header, as the templates write it."""
    return next((c.header for c in COLUMNS[kind] if c.field == field), field)


def _normalize(cell: str) -> str:
    text = unicodedata.normalize("NFKC", cell).strip().lower()
    return _PUNCT.sub("", _TRAILING_NOTE.sub("", text).strip())


def _lookup(kind: SheetKind) -> dict[str, str]:
    known = {}
    for column in COLUMNS[kind]:
        for name in (column.header, *column.aliases):
            known[_normalize(name)] = column.field
    return known


def _records(data: bytes, content_type: str) -> Iterator[tuple[int, list[str]]]:
    if xlsx.looks_like_xlsx(data, content_type):
        try:
            yield from xlsx.read_rows(data)
        except xlsx.WorkbookError as exc:
            raise CsvError(exc.text) from None
        return
    text, _ = decode(data)
    delimiter = "\t" if text[:2000].count("\t") > text[:2000].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            yield start, [c.strip() for c in cells]
            start = reader.line_num + 1
    except csv.Error as exc:
        said = Said(f"line {start}: the CSV cannot be read: {exc}", f"第 {start} 行：CSV 无法读取")
        raise CsvError(said) from None


def value(field: str, cell: str) -> str | int | list[str]:
    """A cell as the API takes it: words to values, numbers to numbers, lists to lists."""
    text = unicodedata.normalize("NFKC", cell).strip()
    if field in WORDS:
        return WORDS[field].get(text, text)
    if field == "credit_stars" and text and set(text) <= {"★"}:
        return len(text)
    if field in _NUMBERS:
        bare = text.removesuffix("人").removesuffix("名").strip()
        return int(bare) if _WHOLE.fullmatch(bare) else text
    if field == "subsidy_per_trainee":
        return text.removesuffix("元").strip()
    if field in ("enterprises", "demand_ids"):
        return [part for part in _LIST.split(cell.strip()) if part]
    return cell.strip()


def read_sheet(
    kind: SheetKind, data: bytes, content_type: str = ""
) -> list[tuple[int, dict[str, Any]]]:
    """(line, field -> value) of every non-empty row that is not the template's example."""
    records = _records(data, content_type)
    known = _lookup(kind)
    index: dict[str, int] = {}
    for seen, (_, cells) in enumerate(records):
        if seen >= MAX_TITLE_LINES:
            break
        index = {}
        for position, cell in enumerate(cells):
            field = known.get(_normalize(cell))
            if field is not None and field not in index:
                index[field] = position
        if index:
            break
    missing = [f for f in REQUIRED[kind] if f not in index]
    if missing:
        names = "、".join(header(kind, f) for f in missing)
        raise CsvError(
            Said(f"the header lacks the columns {', '.join(missing)}", f"表头缺少 {names} 列"),
            ["file"],
        )
    example = {c.field: str(c.example) for c in COLUMNS[kind] if str(c.example)}
    rows = []
    for line, cells in records:
        found = {f: cells[i] for f, i in index.items() if i < len(cells) and cells[i].strip()}
        if found and found != example:
            rows.append((line, {f: value(f, cell) for f, cell in found.items()}))
    return rows


def template_csv(kind: SheetKind) -> bytes:
    """The template as CSV in UTF-8 with a BOM, so that Excel shows the Chinese headers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in COLUMNS[kind]])
    writer.writerow([c.example for c in COLUMNS[kind]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: SheetKind) -> bytes:
    """The template as a workbook: the sheet to fill, then one that explains every column."""
    head = [c.header for c in COLUMNS[kind]]
    help_rows: list[list[Any]] = [["列名", "必填", "也可写作", "说明"]]
    for c in COLUMNS[kind]:
        required = "是" if c.field in REQUIRED[kind] else ""
        others = "、".join(a for a in c.aliases if not a.isascii())
        help_rows.append([c.header, required, others, c.note])
    return sheets_xlsx(kind, [head, [c.example for c in COLUMNS[kind]]], help_rows)


def sheets_xlsx(kind: SheetKind, rows: list[list[Any]], help_rows: list[list[Any]]) -> bytes:
    """A workbook a secretary loads: the rows under their title, and the help sheet if any."""
    title = TITLES[kind]
    widths = [max(12, 2 * len(str(cell)) + 4) for cell in rows[0]]
    sheets: list[tuple[str, list[list[Any]]]] = [(title, rows)]
    if help_rows:
        sheets.append(("填写说明", help_rows))
    return xlsx.workbook(sheets, widths={title: widths, "填写说明": [14, 6, 30, 50]})
