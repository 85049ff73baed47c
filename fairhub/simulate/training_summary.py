"""What the secretary reads after the quarter: per member and per occupation, how demand
turned into trained and hired people, with the subsidies owed; then the comparison's verdict.

The figures shown are those /stats answered (persons, i.e. the unique counts); the verdict
says whether every one of them is what the clients sent.
"""

from __future__ import annotations

from collections import defaultdict

from rich.console import Console
from rich.table import Table

from fairhub.seeds import Loaded
from fairhub.simulate.report import Row
from fairhub.simulate.training_ledger import TrainingLedger

CHAIN = (
    ("training_signups", "报名"),
    ("training_completions", "结业"),
    ("certifications", "取证"),
    ("internships", "实习"),
    ("hires", "录用"),
)
FLOW = "demand → seats → sign-ups → completed → certified → interns → hired"
SHOWN = 12  # rows per table; the rest are counted in a last line
WRONG_SHOWN = 30


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.0f}" if fen % 100 == 0 else f"{fen / 100:,.2f}"


def _table(title: str, first: str, columns: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(first)
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows[:SHOWN]:
        table.add_row(*row)
    if len(rows) > SHOWN:
        table.add_row(f"… {len(rows) - SHOWN} more", *[""] * len(columns))
    return table


def summary(
    console: Console, alliance: Loaded, ledger: TrainingLedger, got: dict[str, int]
) -> None:
    """Per member and per occupation: demand → seats → sign-ups → … → hired, and subsidies."""
    slug = alliance.seed.slug

    def figure(key: str) -> int:
        return got.get(f"{slug}:{key}", 0)

    owed: dict[str, int] = defaultdict(int)
    for key, value in got.items():
        parts = key.removeprefix(f"{slug}:").split(".")
        if key.startswith(f"{slug}:subsidy.") and parts[-1] == "amount_fen":
            owed[parts[1]] += value
    for offer in ledger.offers.values():
        owed[offer.institution] += figure(f"offer.{offer.label}.training_subsidy_fen")
    members = []
    for name in alliance.members:
        chain = [figure(f"member.{name}.{metric}.unique") for metric, _ in CHAIN]
        chain[-1] += figure(f"member.{name}.at_fairs.hires.unique")
        demand, seats = figure(f"member.{name}.demand"), figure(f"member.{name}.seats")
        if demand or seats or any(chain) or owed[name]:
            cells = [demand, seats, *chain]
            members.append((-demand - seats - sum(chain), name, cells, owed[name]))
    members.sort()
    columns = ["需求", "名额", *(label for _, label in CHAIN), "补贴（元）"]  # noqa: RUF001
    rows = [[n, *map(str, c), _yuan(o)] for *_, n, c, o in members]
    console.print(f"[bold]{alliance.seed.name}[/]: {FLOW} (persons)", highlight=False)
    title = "per member (hires at its fairs included)"
    console.print(_table(title, "成员", columns, rows))
    occupations = sorted({k.split(".")[1] for k in got if k.startswith(f"{slug}:occupation.")})
    jobs = []
    for job in occupations:
        demand = figure(f"occupation.{job}.technical") + figure(f"occupation.{job}.skilled")
        chain = [figure(f"occupation.{job}.{metric}.unique") for metric, _ in CHAIN]
        jobs.append((-demand, job, [demand, figure(f"occupation.{job}.seats"), *chain]))
    jobs.sort()
    rows = [[job, *map(str, cells)] for _, job, cells in jobs]
    console.print(_table("per occupation", "职业", columns[:-1], rows))
    channels = ", ".join(
        f"{c} {figure(f'channel.{c}.hires.total')} ({figure(f'channel.{c}.hires.unique')} persons)"
        for c in ("fair", "livestream", "training", "internship", "other")
        if figure(f"channel.{c}.hires.total")
    )
    internship = sum(
        v for k, v in owed.items() if k not in {o.institution for o in ledger.offers.values()}
    )
    console.print(
        f"hires by channel: {channels or 'none'}; internship subsidy owed {_yuan(internship)} yuan,"
        f" training subsidy owed {_yuan(figure('training_subsidy_fen'))} yuan",
        highlight=False,
    )


def closing(console: Console, rows: list[Row], anomalies: list[str]) -> int:
    """The verdict: 0 when every figure agrees and every answer was the planned one, else 1."""
    wrong = [r for r in rows if not r.ok]
    if wrong:
        table = Table(title="figures that differ", title_justify="left")
        for column in ("figure", "sent", "/stats"):
            table.add_column(column, justify="left" if column == "figure" else "right")
        for row in wrong[:WRONG_SHOWN]:
            table.add_row(row.key, str(row.sent), str(row.got))
        console.print(table)
    for text in anomalies[:20]:
        console.print(f"[red]answer broke the API's promise:[/] {text}", highlight=False)
    if wrong:
        names = ", ".join(r.key for r in wrong[:10]) + (" …" if len(wrong) > 10 else "")
        console.print(f"[bold red]{len(wrong)} figures differ:[/] {names}", highlight=False)
    if wrong or anomalies:
        return 1
    console.print(f"[bold green]all {len(rows)} figures agree[/]")
    return 0
