"""The source contract (tests/contract.py) run by every source type: memory, CSV, XLSX, Trello, Notion, Sheets."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from syncd.config import Config
from syncd.connectors import REGISTRY
from tests.contract import SourceContract, World
from tests.memory_source import MemoryService, MemoryTable

KPI_ROWS = [
    ["KPI", "Value", "Direction", "Green", "Red", "Status", "Owner"],
    ["Churn", "3.5", "lower", "3", "5", "", "Ana"],
    ["NPS", "45", "higher", "40", "20", "Red", "Bo"],
    ["Uptime", "98", "higher", "99.9", "99", "", ""],
]
KPI_COLUMNS = {"Status": "status"}


def _config(tmp_path: Path, **body: Any) -> Config:
    return Config(syncd={"state": str(tmp_path / "state.db")}, **body)


# --- memory --------------------------------------------------------------------------------------


class TestMemoryContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> World:
        svc = MemoryService(
            rows={
                "churn": {"name": "Churn", "value": 3.5, "direction": "lower", "green": 3.0, "red": 5.0, "note": "x"},
                "nps": {"name": "NPS", "value": 45.0, "green": 40.0, "red": 20.0, "status": "Red", "note": "y"},
                "uptime": {"name": "Uptime", "value": 98.0, "green": 99.9, "red": 99.0, "note": ""},
            }
        )
        table = MemoryTable("src", svc)

        def snapshot() -> dict[tuple[str, str], Any]:
            return {(item, f): v for item, row in svc.rows.items() for f, v in row.items()}

        def refuse() -> str:
            svc.refuse.add("nps")
            return "nps"

        def gone() -> None:
            svc.gone = True

        return World(
            config=_config(tmp_path),
            registry=REGISTRY.with_types(memory="tests.memory_source"),
            env={"MEMORY_TOKEN": svc.token},
            owned={"status"},
            snapshot=snapshot,
            mutations=lambda: sum(1 for m, _ in svc.log if m == "write"),
            table=table,
            sources=[("kpis", table)],
            credential=("MEMORY_TOKEN", svc.token),
            refuse_one=refuse,
            storm=lambda n, after: svc.faults.extend((429, after) for _ in range(n)),
            burst=lambda n: svc.faults.extend((503, None) for _ in range(n)),
            break_it=gone,
        )


# --- local files ---------------------------------------------------------------------------------


def _csv_snapshot(path: Path) -> dict[tuple[str, str], Any]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    return {(r[0], header[i]): v for r in rows[1:] for i, v in enumerate(r)}


class TestCsvContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> World:
        path = tmp_path / "kpis.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(KPI_ROWS)
        config = _config(tmp_path, kpis=[{"type": "csv", "name": "src", "path": str(path)}])

        def break_it() -> None:
            path.unlink()

        return World(
            config=config,
            registry=REGISTRY,
            env={},
            owned={"Status"},
            snapshot=lambda: _csv_snapshot(path),
            mutations=lambda: path.stat().st_mtime_ns,
            break_it=break_it,
        )


class TestXlsxContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> World:
        import openpyxl

        path = tmp_path / "kpis.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        for row in KPI_ROWS:
            sheet.append([float(c) if c.replace(".", "").isdigit() else c for c in row])
        book.save(path)
        config = _config(tmp_path, kpis=[{"type": "xlsx", "name": "src", "path": str(path)}])

        def snapshot() -> dict[tuple[str, str], Any]:
            ws = openpyxl.load_workbook(path).active
            rows = [[c.value for c in r] for r in ws.iter_rows()]
            return {(str(r[0]), str(rows[0][i])): v for r in rows[1:] for i, v in enumerate(r)}

        return World(
            config=config,
            registry=REGISTRY,
            env={},
            owned={"Status"},
            snapshot=snapshot,
            mutations=lambda: path.stat().st_mtime_ns,
            break_it=path.unlink,
        )


# --- Trello --------------------------------------------------------------------------------------


class TestTrelloContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> Any:
        from tests.fakes.trello import TrelloFake
        from tests.trello_helpers import okr_board

        with TrelloFake() as fake:
            fake.period = 0.02
            board = okr_board(fake, 2, 4)
            config = _config(
                tmp_path,
                okrs=[{"type": "trello", "name": "src", "board": board, "base_url": fake.url, "cycle": "2026-Q4"}],
                limits={"trello_per_10s": 1_000_000, "trello_key_per_10s": 1_000_000},
            )
            owned_fields = {"Progress", "Score", "Current"}

            def snapshot() -> dict[tuple[str, str], Any]:
                out: dict[tuple[str, str], Any] = {}
                for cid, card in fake.cards.items():
                    out[(cid, "name")] = card["name"]
                    out[(cid, "labels")] = tuple(sorted(fake.label_names(cid)))
                    for f in ("Start", "Target", "Current", "Weight", "KPI", "Cycle", *owned_fields):
                        out[(cid, f)] = fake.value(cid, f)
                return out

            def refuse() -> str:
                card = next(c for c in fake.cards.values() if c["name"] == "KR 1.1")
                fake.refuse = lambda r: 400 if r.method != "GET" and card["id"] in r.path else None
                return _item_of(card)

            def _item_of(card: dict[str, Any]) -> str:
                from syncd.connectors.trello.source import open as open_trello

                return _trello_item(config, fake, open_trello, card)

            def break_it() -> None:
                config.okrs[0].board = "nosuchboard123"

            yield World(
                config=config,
                registry=REGISTRY,
                env={"TRELLO_API_KEY": fake.key, "TRELLO_TOKEN": fake.token},
                role="okrs",
                owned={"labels", *owned_fields},
                snapshot=snapshot,
                mutations=lambda: sum(1 for r in fake.log if r.method != "GET"),
                credential=("TRELLO_TOKEN", fake.token),
                refuse_one=refuse,
                storm=lambda n, after: (setattr(fake, "retry_after_header", True), fake.storm(n, after)),
                burst=lambda n: fake.fail_next(n, 503),
                break_it=break_it,
            )


def _trello_item(config: Config, fake: Any, open_trello: Any, card: dict[str, Any]) -> str:
    """The key result id syncd gives a card (read through the source itself)."""
    from syncd.source import SourceContext
    from tests.contract import _NoCache

    env = {"TRELLO_API_KEY": fake.key, "TRELLO_TOKEN": fake.token}
    source = open_trello("okrs", config.okrs[0], SourceContext(config=config, cache=_NoCache(), env=env))
    try:
        result = source.read()
    finally:
        source.close()
    return next(kr.id for o in result.objectives for kr in o.key_results if kr.ref == card["id"])


# --- Notion --------------------------------------------------------------------------------------

NOTION_TOKEN = "secret_contract_0123456789"


class TestNotionContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> Any:
        from tests.fakes.notion import NotionFake, okr_workspace

        with NotionFake((NOTION_TOKEN,)) as fake:
            fake.fractional_retry_after = True
            ws = okr_workspace(fake, objectives=2, key_results=4)
            table = {
                "type": "notion",
                "name": "src",
                "base_url": fake.url,
                "objectives": ws["objectives_db"],
                "key_results": ws["key_results_db"],
            }
            config = _config(tmp_path, okrs=[table], limits={"notion_per_second": 100_000})

            def snapshot() -> dict[tuple[str, str], Any]:
                return {
                    (pid, name): json.dumps(fake.get(pid, name), sort_keys=True, default=str)
                    for pid, page in fake.pages.items()
                    for name in page["properties"]
                }

            def refuse() -> str:
                page = ws["key_results"][1]
                fake.refuse = lambda r: (
                    404 if r.method == "PATCH" and page.replace("-", "") in r.path.replace("-", "") else None
                )
                return page

            def break_it() -> None:
                config.okrs[0].objectives = "0" * 32

            yield World(
                config=config,
                registry=REGISTRY,
                env={"NOTION_TOKEN": NOTION_TOKEN},
                role="okrs",
                owned={"Score", "Status", "Progress"},
                snapshot=snapshot,
                mutations=lambda: sum(1 for r in fake.log if r.method == "PATCH" or r.path.endswith("/comments")),
                credential=("NOTION_TOKEN", NOTION_TOKEN),
                refuse_one=refuse,
                storm=fake.storm,
                burst=lambda n: fake.fail_next(n, 503),
                break_it=break_it,
            )


# --- Google Sheets -------------------------------------------------------------------------------

SHEET = "1ContractSheetKeyAbCdEfGh"


class TestSheetsContract(SourceContract):
    @pytest.fixture
    def world(self, tmp_path: Path) -> Any:
        from tests.fakes.sheets import FakeSheets

        with FakeSheets() as fake:
            fake.retry_after_header = True
            fake.add_spreadsheet(SHEET, {"KPIs": [list(r) for r in KPI_ROWS]})
            sa = tmp_path / "sa.json"
            sa.write_text(json.dumps(fake.service_account()))
            table = {"type": "sheets", "name": "src", "spreadsheet": SHEET, "worksheet": "KPIs", "base_url": fake.url}
            config = _config(tmp_path, kpis=[table], limits={"sheets_per_minute": 1_000_000})

            def snapshot() -> dict[tuple[str, str], Any]:
                grid = fake.snapshot(SHEET, "KPIs")
                header = [c[0] for c in grid[0]]
                return {
                    (str(row[0][0]), str(header[i]) if i < len(header) else f"col{i}"): cell
                    for row in grid[1:]
                    for i, cell in enumerate(row)
                }

            def break_it() -> None:
                config.kpis[0].spreadsheet = "1NoSuchSpreadsheetKey0000"

            secret = json.loads(sa.read_text())["private_key"]
            yield World(
                config=config,
                registry=REGISTRY,
                env={"GOOGLE_APPLICATION_CREDENTIALS": str(sa)},
                owned={"Status"},
                snapshot=snapshot,
                mutations=lambda: fake.writes,
                credential=("GOOGLE_APPLICATION_CREDENTIALS", secret),
                holds_secret=False,
                storm=fake.storm,
                burst=lambda n: fake.fail_next(n, 503),
                break_it=break_it,
            )
