"""Writes the seed spreadsheets (`python -m fairhub.seeds.build`): four alliances whose
published figures the files hold exactly, with plausible names drawn from a fixed seed.

The files are committed: a secretary can open and load them by hand, and `fairhub
seed-alliances` loads them through the API. Run this only to change them; the test of the seeds
checks the cited totals through the API.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
from collections.abc import Iterable, Sequence
from pathlib import Path

from fairhub.alliance_sheets import COLUMNS, SheetKind

HERE = Path(__file__).parent
WORDS = (
    "恒达 金泰 华瑞 宏远 鑫源 永盛 天成 精诚 博远 海通 瑞丰 东辰 中和 华宇 新科 联创 润发 荣昌"
    " 兴业 嘉禾 汇通 正泰 富升 德隆 恒信 凯达 远航 明辉 铭泰 国盛 安达 金鼎 宝丰 昌盛 万通 旭日"
    " 晨光 大成 锦程 康宁 华康 同福 益民 佳和 圣达 卓越 长城 东方 力创 通达 恒力 华联 金城 亚泰"
    " 天瑞 申达 腾飞 立信 宏泰 永信 恒昌 和信 景泰 华润 新华 鼎盛 裕隆 隆鑫 三友 众诚"
).split()
INDUSTRIES = (
    "精密机械 汽车零部件 电子科技 新材料 智能装备 纺织 化工 电气 模具 船舶配套 建设工程 食品"
    " 物流 钢铁 电机 轴承 环保科技 医疗器械"
).split()
SUFFIXES = ("有限公司", "股份有限公司", "集团有限公司")
PERIOD = "2026年第三季度"


class Names:
    """Distinct plausible Chinese names from one random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng, self.used = rng, set[str]()

    def _unique(self, make: str) -> str:
        while True:
            word, industry = self.rng.choice(WORDS), self.rng.choice(INDUSTRIES)
            name = make.format(w=word, i=industry, s=self.rng.choice(SUFFIXES))
            key = make.format(w=word, i=industry, s="")  # one firm per word and trade in a city
            if key not in self.used:
                self.used.add(key)
                return name

    def enterprise(self, city: str) -> str:
        return self._unique(city + "{w}{i}{s}")

    def school(self, city: str, kind: str) -> str:
        ending = {
            "school": "{w}职业技术学院",
            "technical_school": "{w}技师学院",
            "vocational_school": "{w}职业教育中心校",
        }[kind]
        return self._unique(city + ending)

    def institution(self, city: str) -> str:
        return self._unique(city + "{w}职业培训学校")

    def association(self, city: str) -> str:
        return self._unique(city + "{i}行业协会")


KIND_WORDS = {
    "school": "学校",
    "technical_school": "技工院校",
    "vocational_school": "职业院校",
    "enterprise": "企业",
    "association": "行业协会",
    "training_institution": "培训机构",
}


def split(total: int, parts: int, rng: random.Random, least: int = 1) -> list[int]:
    """`total` as `parts` whole numbers of at least `least`, adding up exactly."""
    cuts = sorted(rng.sample(range(1, total - parts * (least - 1)), parts - 1))
    edges = [0, *cuts, total - parts * (least - 1)]
    return [b - a + least - 1 for a, b in itertools.pairwise(edges)]


def write(folder: Path, kind: SheetKind, rows: Iterable[Sequence[object]]) -> None:
    """One sheet as the CSV Excel opens (UTF-8 with a BOM), headers as in the templates."""
    head = [c.header for c in COLUMNS[kind]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(head)
    writer.writerows(rows)
    folder.mkdir(exist_ok=True)
    (folder / f"{kind}.csv").write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))


def member_row(
    name: str, kind: str, joined: str, staff: int | None = None, left: str = ""
) -> list[object]:
    return [name, KIND_WORDS[kind], joined, "" if staff is None else staff, left]


def wujin(names: Names, rng: random.Random) -> None:
    """16 schools and 50 enterprises found the alliance on one day; 30 more enterprises join
    later, and its fair has the 80 member enterprises."""
    rows = [
        member_row(names.school("武进", kind), kind, "2017-06-16")
        for kind in ["school"] * 3 + ["technical_school"] * 5 + ["vocational_school"] * 8
    ]
    founders = [names.enterprise("武进") for _ in range(50)]
    later = [names.enterprise("常州") for _ in range(30)]
    rows += [member_row(n, "enterprise", "2017-06-16", rng.randrange(80, 2000)) for n in founders]
    rows += [
        member_row(n, "enterprise", f"20{rng.randrange(18, 26)}-0{rng.randrange(1, 10)}-15",
                   rng.randrange(60, 1500))
        for n in later
    ]  # fmt: skip
    write(HERE / "wujin", "members", rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["企业名称", "展位号", "所属行业"])
    for n, name in enumerate(founders + later, start=1):
        writer.writerow([name, f"{'ABCD'[(n - 1) // 20]}{(n - 1) % 20 + 1:02d}", ""])
    (HERE / "wujin" / "fair_employers.csv").write_bytes(("\ufeff" + out.getvalue()).encode())


def zibo(names: Names, rng: random.Random) -> None:
    """7 technical and 8 vocational schools, 9 associations, 126 enterprises today: some joined
    this year, 6 more left; staff declared (a few small firms, where 2 % is one or two interns)."""
    rows = [member_row(names.school("淄博", "technical_school"), "technical_school", "2019-09-01")
            for _ in range(7)]  # fmt: skip
    rows += [member_row(names.school("淄博", "vocational_school"), "vocational_school",
                        "2019-09-01") for _ in range(8)]  # fmt: skip
    rows += [member_row(names.association("淄博"), "association", "2019-09-01") for _ in range(9)]
    for n in range(126 + 6):
        joined = "2019-09-01" if n < 100 else f"2026-0{rng.randrange(1, 6)}-01"
        left = f"2026-0{rng.randrange(7, 10)}-{rng.randrange(10, 28)}" if n >= 126 else ""
        joined = "2021-03-01" if left else joined
        staff = rng.choice((50, 100, 150, 200, 250, 400, 600, 1200, 3000))
        rows.append(member_row(names.enterprise("淄博"), "enterprise", joined, staff, left))
    write(HERE / "zibo", "members", rows)


ZHENJIANG_SKILLED = {"钳工": 260, "车工": 230, "焊工": 250, "养老护理员": 220, "电工": 120,
                     "数控铣工": 95, "装配工": 90, "叉车司机": 80}  # fmt: skip
ZHENJIANG_TECHNICAL = {"机械工程技术人员": 150, "质量管理员": 130, "生产管理员": 120,
                       "电气工程技术人员": 110, "安全管理员": 101}  # fmt: skip
# The three project classes: occupation, their enterprises' posts (88 in all), trainees (102).
PROJECT_CLASSES = (("钳工", (8, 7, 6, 9), 35), ("焊工", (6, 5, 7, 6, 4), 35),
                   ("养老护理员", (10, 12, 8), 32))  # fmt: skip
ZHENJIANG_REGIONS = ("京口区", "润州区", "丹徒区", "镇江新区", "丹阳市", "句容市", "扬中市")


def zhenjiang(names: Names, rng: random.Random) -> None:
    """611 technical-management and 1,345 skilled posts from 80 enterprises; a menu of 30
    institutions with 3,607 regular seats and 3 project classes on 12 enterprises' 88 posts."""
    firms = [names.enterprise("镇江") for _ in range(80)]
    schools = [names.institution("镇江") for _ in range(30)]
    rows = [member_row(f, "enterprise", "2024-03-01", rng.randrange(80, 2500)) for f in firms]
    rows += [member_row(s, "training_institution", "2024-03-01") for s in schools]
    write(HERE / "zhenjiang", "members", rows)
    demand: list[list[object]] = []
    in_class = firms[:12]
    classes: list[list[object]] = []
    taken = 0
    for occupation, posts, trainees in PROJECT_CLASSES:
        behind = in_class[taken : taken + len(posts)]
        taken += len(posts)
        for firm, headcount in zip(behind, posts, strict=True):
            demand.append([firm, "", occupation, "技能", headcount, rng.choice(ZHENJIANG_REGIONS),
                           PERIOD])  # fmt: skip
        classes.append([rng.choice(schools), "", occupation, "订单班", trainees, "镇江新区", 5,
                        2400, PERIOD, "、".join(behind), ""])  # fmt: skip
    class_posts = {o: sum(p) for o, p, _ in PROJECT_CLASSES}
    others = firms[12:]
    for category, wanted in (("技能", ZHENJIANG_SKILLED), ("技术管理", ZHENJIANG_TECHNICAL)):
        for occupation, total in wanted.items():
            rest = total - class_posts.get(occupation, 0)
            parts = split(rest, rng.randrange(6, 12), rng)
            for firm, headcount in zip(rng.sample(others, len(parts)), parts, strict=True):
                demand.append([firm, "", occupation, category, headcount,
                               rng.choice(ZHENJIANG_REGIONS), PERIOD])  # fmt: skip
    rng.shuffle(demand)
    write(HERE / "zhenjiang", "demands", demand)
    menu: list[list[object]] = []
    seats = split(3607, 90, rng, least=15)
    occupations = [*ZHENJIANG_SKILLED, "机械工程技术人员", "质量管理员"]
    for n, count in enumerate(seats):
        kind = "政府补贴培训" if n % 3 else "技能等级认定"
        subsidy = rng.randrange(8, 25) * 100 if kind == "政府补贴培训" else 500
        occupation, region = rng.choice(occupations), rng.choice(ZHENJIANG_REGIONS)
        stars = rng.randrange(2, 6)
        menu.append([schools[n % 30], "", occupation, kind, count, region, stars, subsidy, PERIOD])
    write(HERE / "zhenjiang", "offers", [[*row, "", ""] for row in menu] + classes)


BAOTOU_DEMAND = {"焊工": ("技能", 60), "电工": ("技能", 48), "机修钳工": ("技能", 45),
                 "稀土冶炼工": ("技能", 52), "化验员": ("技能", 30), "叉车司机": ("技能", 26),
                 "质量管理员": ("技术管理", 40), "生产管理员": ("技术管理", 35),
                 "技术员": ("技术管理", 35)}  # fmt: skip


def baotou(names: Names, rng: random.Random) -> None:
    """55 employers with 371 posts; workers choose from the menu, the government pays."""
    firms = [names.enterprise("包头") for _ in range(55)]
    schools = [names.institution("包头") for _ in range(6)]
    rows = [member_row(f, "enterprise", "2025-06-01", rng.randrange(60, 3000)) for f in firms]
    rows += [member_row(s, "training_institution", "2025-06-01") for s in schools]
    write(HERE / "baotou", "members", rows)
    demand: list[list[object]] = []
    for firm in firms:  # every employer posts at least one row
        occupation = rng.choice(list(BAOTOU_DEMAND))
        demand.append([firm, "", occupation, BAOTOU_DEMAND[occupation][0], 1, "包头市", PERIOD])
    for occupation, (category, total) in BAOTOU_DEMAND.items():
        rest = total - sum(1 for row in demand if row[2] == occupation)
        for firm, headcount in zip(rng.sample(firms, 5), split(rest, 5, rng), strict=True):
            demand.append([firm, "", occupation, category, headcount, "包头市", PERIOD])
    write(HERE / "baotou", "demands", demand)
    menu = [[schools[n], "", occupation, "政府补贴培训", 40, "包头市", 4, 1500, PERIOD, "", ""]
            for n, occupation in enumerate(list(BAOTOU_DEMAND)[:6])]  # fmt: skip
    write(HERE / "baotou", "offers", menu)


def main() -> None:
    rng = random.Random(2026)
    names = Names(rng)
    for make in (wujin, zibo, zhenjiang, baotou):
        make(names, rng)


if __name__ == "__main__":
    main()
