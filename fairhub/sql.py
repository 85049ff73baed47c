"""SQL lives in sql/*.sql; this loads each file once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_INSTALLED = Path(__file__).parent / "sql"  # inside the wheel (package-dir mapping)
_CHECKOUT = Path(__file__).parent.parent / "sql"  # a source checkout


def sql_dir() -> Path:
    """Where the SQL files are, installed or in a checkout."""
    return _INSTALLED if (_INSTALLED / "migrations").is_dir() else _CHECKOUT


@cache
def query(name: str) -> str:
    """The text of sql/queries/<name>.sql."""
    return (sql_dir() / "queries" / f"{name}.sql").read_text(encoding="utf-8")
