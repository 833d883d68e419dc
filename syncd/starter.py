"""``syncd demo`` and ``syncd init``: a first working folder, from the example installed with syncd.

The example (``syncd.examples``: a commented ``syncd.toml`` and the demo's ``kpis.csv`` and
``okrs.csv``) describes a company as it stood on :data:`MADE`. A copy is dated to the day it is made:
every date moves by the days since :data:`MADE` and every quarter by the quarters since, so the
statuses and staleness look today as the example did then. A file that is already there is kept,
so running either command again changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["MADE", "FILES", "Copied", "copy_example", "dated"]

#: The day the bundled example describes.
MADE = date(2026, 11, 15)
#: What a copy holds: the configuration first, then the tables it names.
FILES = ("syncd.toml", "kpis.csv", "okrs.csv")

_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_QUARTER = re.compile(r"\b(\d{4})-Q([1-4])\b")


@dataclass(frozen=True)
class Copied:
    path: Path
    written: bool  # False: it was there already and is kept


def _example() -> Traversable:
    try:
        return resources.files("syncd.examples")
    except ModuleNotFoundError:  # an editable install made before syncd.examples existed
        return resources.files("syncd").joinpath("..", "examples")


def dated(text: str, today: date) -> str:
    """The example's text as of ``today``: dates moved by whole days, quarters by whole quarters."""
    days = timedelta(days=(today - MADE).days)
    quarters = (today.year * 4 + (today.month - 1) // 3) - (MADE.year * 4 + (MADE.month - 1) // 3)

    def shift_date(m: re.Match[str]) -> str:
        try:
            return (date(int(m[1]), int(m[2]), int(m[3])) + days).isoformat()
        except ValueError:
            return m[0]

    def shift_quarter(m: re.Match[str]) -> str:
        n = int(m[1]) * 4 + int(m[2]) - 1 + quarters
        return f"{n // 4}-Q{n % 4 + 1}"

    return _QUARTER.sub(shift_quarter, _DATE.sub(shift_date, text))


def copy_example(folder: Path, today: date) -> Iterator[Copied]:
    """Copy the example into ``folder`` (created if needed), dated to ``today``; keep what is there.

    Raises OSError when the folder or a file cannot be written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    source = _example()
    for name in FILES:
        target = folder / name
        if target.exists():
            yield Copied(target, False)
            continue
        text = source.joinpath(name).read_text(encoding="utf-8")
        if name.endswith(".csv"):
            text = dated(text, today)
        tmp = target.with_name(f".{name}.syncd-tmp")
        with tmp.open("w", encoding="utf-8", newline="") as f:  # keep the example's line endings
            f.write(text)
        tmp.replace(target)
        yield Copied(target, True)
