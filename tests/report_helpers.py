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
