"""The import templates an organizer downloads, fills in and uploads: Chinese headers the
import knows, one example row, and (in the workbook) a sheet that explains every column.

The example row, left as it is, is skipped by the import: a template uploaded with it still
in place must not create 示例科技有限公司.
"""

# Chinese labels use full-width punctuation, as Chinese text should.
# ruff: noqa: RUF001

from __future__ import annotations

import csv
import io
from typing import Any

from fairhub import xlsx
from fairhub.csvimport import ALIASES, REQUIRED, Kind

# (field, header, example, what to write): the headers are the first Chinese alias of each field.
COLUMNS: dict[str, tuple[tuple[str, str, str | int, str], ...]] = {
    "employers": (
        ("name", "企业名称", "示例科技有限公司", "企业全称，在本场招聘会内唯一"),
        ("booth", "展位号", "A01", ""),
        ("industry", "所属行业", "信息技术", ""),
    ),
    "positions": (
        ("employer", "企业名称", "示例科技有限公司", "与企业表中的名称一致（或填“企业编号”列）"),
        ("title", "岗位名称", "软件工程师", ""),
        ("job_type", "岗位类别", "全职", "如 全职、实习、兼职"),
        ("headcount", "招聘人数", 3, "数字；不确定可填“若干”"),
        ("salary", "薪资", "8000-12000", "月薪（元），如 5000-8000、8k-12k、6000以上，或“面议”"),
        ("location", "工作地点", "上海市浦东新区", ""),
        ("description", "岗位描述", "负责后端开发，计算机相关专业", ""),
    ),
    "seekers": (
        ("name", "姓名", "张三", ""),
        ("school", "学校", "示例大学", ""),
        ("major", "专业", "计算机科学与技术", ""),
        ("phone", "手机号", "13800000000", "一个手机号只能登记一人"),
        ("graduation_year", "毕业年份", 2026, "四位年份"),
    ),
}
TITLES = {"employers": "企业", "positions": "岗位", "seekers": "求职者"}


def is_example(kind: Kind, cells: dict[str, str]) -> bool:
    """The row is the template's example, unchanged."""
    return cells == {field: str(example) for field, _, example, _ in COLUMNS[kind]}


def _help_rows(kind: Kind) -> list[list[Any]]:
    required = set(REQUIRED[kind]) | ({"employer"} if kind == "positions" else set())
    rows: list[list[Any]] = [["列名", "必填", "也可写作", "说明"]]
    for field, header, _, note in COLUMNS[kind]:
        others = [a for a in ALIASES[kind][field] if a != header]
        rows.append([header, "是" if field in required else "", "、".join(others), note])
    return rows


def template_csv(kind: Kind) -> bytes:
    """The template as CSV in UTF-8 with a BOM, so that Excel shows the Chinese headers."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header for _, header, _, _ in COLUMNS[kind]])
    writer.writerow([example for _, _, example, _ in COLUMNS[kind]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: Kind) -> bytes:
    """The template as a workbook: the sheet to fill first, then one that explains it."""
    head = [header for _, header, _, _ in COLUMNS[kind]]
    example = [example for _, _, example, _ in COLUMNS[kind]]
    title = TITLES[kind]
    widths = [max(12, 2 * len(header) + 4) for header in head]
    return xlsx.workbook(
        [(title, [head, example]), ("填写说明", _help_rows(kind))],
        widths={title: widths, "填写说明": [12, 6, 40, 50]},
    )
