"""Shared by the report tests: the demo with recorded history, and the page's hooks read back."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from syncd.cli import main

NOW = "2026-11-15T09:00:00Z"

#: Earlier passes of the demo: (now, {KPI value cell as in the CSV: value then}).
HISTORY = [
    ("2026-08-01T09:00:00Z", {'"$412,500"': '"$371,000"', "99.6%": "98.8%", "93.4%": "96.1%", ",41,": ",33,"}),
    ("2026-09-01T09:00:00Z", {'"$412,500"': '"$388,200"', "99.6%": "99.3%", "93.4%": "95.2%", ",41,": ",37,"}),
    ("2026-10-01T09:00:00Z", {'"$412,500"': '"$401,900"', "99.6%": "99.7%", "93.4%": "94.0%", ",41,": ",39,"}),
    ("2026-11-01T09:00:00Z", {'"$412,500"': '"$405,000"', "99.6%": "99.2%"}),
]


def seed_history(config: Path) -> None:
    """Record the demo's KPIs at four earlier passes, with other values, then put the demo back."""
    kpis = config.parent / "examples" / "kpis.csv"
    original = kpis.read_text(encoding="utf-8")
    for now, changes in HISTORY:
        text = original
        for old, new in changes.items():
            assert old in text, old
            text = text.replace(old, new, 1)
        kpis.write_text(text, encoding="utf-8")
        assert main(["sync", "--config", str(config), "--now", now, "--format", "json"]) == 0
    kpis.write_text(original, encoding="utf-8")
    okrs = config.parent / "examples" / "okrs.csv"  # the written statuses of the last pass stay: a real sheet
    assert okrs.exists()


class Hooks(HTMLParser):
    """Every element's data-* attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        data = {k: v or "" for k, v in attrs if k.startswith("data-")}
        if data:
            self.elements.append(data)

    def having(self, key: str) -> list[dict[str, str]]:
        return [e for e in self.elements if key in e]


def hooks(html: str) -> Hooks:
    parser = Hooks()
    parser.feed(html)
    return parser


TEAM_OKRS = """\
ID,Objective,Key result,Kind,Start,Target,Current,Weight,Owner,Cycle,Type,Parent
T1,Close mid-market deals faster,Cut the sales cycle from 60 to 40 days,metric,60,40,52,1,Sales team,2026-Q4,aspirational,Win the mid-market
T2,Close mid-market deals faster,Raise the win rate from 20% to 30%,metric,20,30,27,1,Sales team,2026-Q4,aspirational,
T3,Book demos from the website,Grow weekly demo bookings from 10 to 25,metric,10,25,14,1,Marketing team,2026-11,aspirational,Close mid-market deals faster
T4,Make support answers self-serve,Deflect 30% of tickets with help articles,metric,0,30,6,1,Support team,2026-Q4,aspirational,
"""


def add_team_okrs(config: Path) -> None:
    """A second OKR source whose objectives ladder up along ``Parent`` (one of another cycle, one unaligned)."""
    (config.parent / "examples" / "team-okrs.csv").write_text(TEAM_OKRS, encoding="utf-8")
    with config.open("a", encoding="utf-8") as f:
        f.write('\n[[okrs]]\nname = "team-okrs"\ntype = "csv"\npath = "examples/team-okrs.csv"\n')
