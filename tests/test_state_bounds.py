"""The state store stays bounded: history older than ``[syncd].retention`` is pruned at the end of a
pass (each KPI keeps its newest value, each source its last pass), and the WAL is capped."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from syncd.state import WAL_LIMIT, SQLiteStore
from tests.conftest import NOW, write_config

T0 = datetime(2025, 1, 1, 9, tzinfo=UTC)


def _kpi_rows(path: Path) -> list[tuple[str, float, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT kpi, value, first_seen FROM kpi_values ORDER BY kpi, first_seen").fetchall()


def test_prune_forgets_history_older_than_the_cutoff_but_keeps_each_kpis_newest_value(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    for day in range(0, 500, 10):  # a value that changes every 10 days
        store.record_kpi_values({"moving": float(day)}, T0 + timedelta(days=day))
    store.record_kpi_values({"still": 1.0}, T0)  # one value, seen once, long ago
    for day in range(0, 500, 100):
        store.record_run("src", started=T0, now=T0 + timedelta(days=day), outcome="ok", summary={})
    now = T0 + timedelta(days=500)
    removed = store.prune(now - timedelta(days=400))
    history = store.kpi_history({"moving": 490.0, "still": 1.0})
    store.close()
    rows = _kpi_rows(tmp_path / "s.db")
    moving = [datetime.fromisoformat(seen) for kpi, _, seen in rows if kpi == "moving"]
    assert min(moving) >= T0 + timedelta(days=100) and len(moving) == 40
    assert [(kpi, v) for kpi, v, _ in rows if kpi == "still"] == [("still", 1.0)]  # kept: it is the current value
    assert history["still"].first_seen == T0  # its age still counts from when it was first seen
    assert history["moving"].previous == 480.0  # the trend still has its previous value
    assert removed == 10 + 1  # 10 values, and the one pass older than the cutoff (the newest pass stays)


def test_prune_compares_times_not_text_across_offsets(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")

    store.record_kpi_values({"k": 1.0}, datetime.fromisoformat("2025-01-01T10:30:00+02:00"))  # 08:30 UTC
    store.record_kpi_values({"k": 2.0}, datetime(2025, 1, 2, tzinfo=UTC))
    assert store.prune(datetime(2025, 1, 1, 9, tzinfo=UTC)) == 1
    store.close()


def test_a_pass_prunes_with_the_configured_retention(demo, syncd):
    write_config(demo, demo.read_text().replace("[syncd]\n", '[syncd]\nretention = "30d"\n', 1))
    assert syncd("sync", "--config", demo, "--now", NOW).code == 0
    kpis = demo.parent / "examples" / "kpis.csv"
    kpis.write_text(kpis.read_text().replace('"$412,500"', '"$420,000"'))
    assert syncd("sync", "--config", demo, "--now", "2026-12-20T09:00:00Z").code == 0
    mrr = [
        row for row in _kpi_rows(demo.parent / "syncd.db") if "Monthly recurring revenue" in row[0] or "K01" in row[0]
    ]
    assert [v for _, v, _ in mrr] == [420000.0]  # the November value is more than 30 days old
    with sqlite3.connect(demo.parent / "syncd.db") as db:
        assert db.execute("SELECT COUNT(*) FROM runs WHERE now LIKE '2026-11%'").fetchone()[0] == 0


def test_the_default_retention_is_400_days(demo):
    from syncd.config import load_config

    assert "retention" not in demo.read_text()
    assert load_config(demo).syncd.retention == timedelta(days=400)


def test_the_write_ahead_log_stays_under_its_cap(tmp_path):
    store = SQLiteStore(tmp_path / "s.db")
    wal = tmp_path / "s.db-wal"
    biggest = 0
    for i in range(400):  # ~8 MB written, 20 KB per transaction
        store.put("src", f"key{i % 50}", "x" * 20_000)
        biggest = max(biggest, wal.stat().st_size if wal.exists() else 0)
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("PRAGMA page_count").fetchone()[0] * 4096 < 2 * WAL_LIMIT
    assert store._db.execute("PRAGMA journal_size_limit").fetchone()[0] == WAL_LIMIT
    store.close()
    assert biggest < WAL_LIMIT + 256 * 1024, biggest  # SQLite's default lets it reach 4 MB and stay there


def test_outlines_are_kept_as_of_each_pass_and_pruned_to_the_one_in_force(tmp_path):
    now = datetime.fromisoformat(NOW)
    store = SQLiteStore(tmp_path / "s.db")
    day = timedelta(days=1)
    a, b = [{"id": "o1", "title": "Grow"}], [{"id": "o2", "title": "Grow more"}]
    store.record_outline("okrs", a, now - 500 * day)
    store.record_outline("okrs", a, now - 450 * day)  # unchanged: no new row
    store.record_outline("okrs", b, now - 420 * day)
    store.record_outline("okrs", a, now - 10 * day)
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("SELECT COUNT(*) FROM outlines").fetchone()[0] == 3
    assert store.outline("okrs", now - 600 * day) is None  # before the first pass
    assert store.outline("okrs", now - 440 * day) == a
    assert store.outline("okrs", now - 100 * day) == b
    assert store.outline("okrs", now) == a
    assert store.outline("other", now) is None
    store.prune(now - 400 * day)  # the outline in force 400 days ago stays, the one before it goes
    assert store.outline("okrs", now - 400 * day) == b and store.outline("okrs", now) == a
    assert store.outline("okrs", now - 440 * day) is None
    store.close()
