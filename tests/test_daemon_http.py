"""`syncd run` against a real HTTP source: the Trello fake on loopback, in this process.

A board whose service answers 500 for a while fails alone (the CSV source
alongside keeps syncing, /healthz turns 503) and recovers by itself when the
service is back. SIGTERM during a pass over HTTP ends it at its next call
boundary: the process exits 0 at once, the pass is recorded as partial, and
the next start converges to the board an uninterrupted run leaves.

Limits are test-sized, intervals short, every wait polls with a timeout.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest

from syncd.cli import main
from tests.fakes.trello import TrelloFake
from tests.test_daemon import Daemon, _poll, daemons  # noqa: F401 - daemons is a fixture
from tests.trello_helpers import kpis_and_board, okr_board

KEY = "k3yForTheDaemonTests0000"
TOKEN = "t0kenTheLogMustNeverShow9876543210"
ENV = {"TRELLO_API_KEY": KEY, "TRELLO_TOKEN": TOKEN}


@pytest.fixture
def fake():
    with TrelloFake(key=KEY, token=TOKEN) as f:
        yield f


def _config(
    folder: Path, fake: TrelloFake, board: str, *, interval: str = "300ms", board_interval: str | None = None
) -> Path:
    """A board on the fake and a CSV of KPIs (one of them followed by a card on the board)."""
    (folder / "kpis.csv").write_text("KPI,Value,Direction,Green,Red,Status\nChurn,3.5,lower,3,5,\n", encoding="utf-8")
    path = folder / "syncd.toml"
    path.write_text(
        f"""
[syncd]
state = "syncd.db"
interval = "{interval}"
listen = "127.0.0.1:0"
unhealthy_after = 2
retries = 2
max_retry_wait = "1s"
timeout = "5s"
{kpis_and_board(fake, board, okr=f'interval = "{board_interval}"' if board_interval else "")}""",
        encoding="utf-8",
    )
    return path


def _board(fake: TrelloFake, objectives: int, key_results: int, name: str = "OKRs 2026") -> tuple[str, str]:
    """An OKR board, plus a key result following the CSV's "Churn" KPI; returns (board, that card)."""
    board = okr_board(fake, objectives, key_results, name=name)
    lst = next(lid for lid, lst in fake.lists.items() if lst["idBoard"] == board)
    follows = fake.add_card(lst, "Cut churn", fields={"KPI": "Churn", "Start": 5, "Target": 2, "Current": 5})
    return board, follows


def _snapshot(fake: TrelloFake, board: str) -> dict[str, tuple[Any, ...]]:
    """What a person sees on each card: its labels and the fields syncd writes."""
    with fake._data_lock:
        cards = [(cid, c["name"]) for cid, c in fake.cards.items() if c["idBoard"] == board]
        return {
            name: (tuple(fake.label_names(cid)), *(fake.value(cid, f) for f in ("Progress", "Score", "Current")))
            for cid, name in cards
        }


def _written(snapshot: dict[str, tuple[Any, ...]]) -> int:
    """Cards with a status label or a progress written."""
    return sum(1 for labels, progress, *_ in snapshot.values() if set(labels) - {"Objective"} or progress is not None)


def _pass_events(d: Daemon, source: str, outcome: str) -> list[dict[str, Any]]:
    return [
        e
        for e in list(d.lines)
        if e.get("event") == "pass" and e.get("source") == source and e.get("outcome") == outcome
    ]


# --- an outage of the service --------------------------------------------------------------------


def test_a_board_whose_service_answers_500_fails_alone_and_recovers_by_itself(tmp_path, fake, daemons):
    board, follows = _board(fake, 3, 12)
    fake.down = 500  # the service is down from the start
    d = daemons(_config(tmp_path, fake, board), ENV)

    unhealthy = _poll(lambda: (r := d.get("/healthz")).status_code == 503 and r.json(), timeout=10)
    assert unhealthy, d.log_text()[-3000:]
    assert unhealthy["failing"] == ["okr-board"]
    assert "source okr-board failed 2 passes in a row (unhealthy after 2)" in unhealthy["reasons"]
    failed = _pass_events(d, "okr-board", "failed")
    assert len(failed) >= 2
    assert "Trello answered 500" in failed[0]["message"] and "gave up after 2 attempts" in failed[0]["message"]
    assert "next try in" in failed[0]["message"]
    # The CSV source carries on while the board fails.
    n = d.passes("kpis")
    d.wait_passes("kpis", n + 2)
    assert "Amber" in (tmp_path / "kpis.csv").read_text(encoding="utf-8")
    assert _written(_snapshot(fake, board)) == 0  # nothing reached the board

    fake.down = None  # the service is back: no restart, no signal
    healthy = _poll(lambda: d.get("/healthz").status_code == 200, timeout=10)
    assert healthy, d.log_text()[-3000:]
    d.wait_for(
        lambda lines: any(
            e.get("source") == "okr-board" and e.get("outcome") == "ok" and e.get("writes") for e in lines
        )
    )
    d.wait_for(
        lambda lines: any(
            e.get("source") == "okr-board" and e.get("outcome") == "ok" and e.get("writes") == 0 for e in lines
        )
    )  # and then it has nothing left to write
    snapshot = _snapshot(fake, board)
    assert _written(snapshot) == len(snapshot)  # every card got its status and progress
    assert fake.value(follows, "Current") == "3.5" and fake.value(follows, "Progress") == "0.5"
    body = d.get("/healthz").json()
    assert body["sources"]["okr-board"]["failures_in_a_row"] == 0
    assert body["sources"]["okr-board"]["last_success"] is not None

    code, _ = d.stop()
    assert code == 0, d.log_text()[-3000:]
    assert TOKEN not in d.log_text() and KEY not in d.log_text()


# --- SIGTERM during a pass over HTTP -------------------------------------------------------------


def test_sigterm_during_an_http_pass_ends_it_at_the_next_call_and_a_restart_converges(
    tmp_path, fake, daemons, capsys, monkeypatch
):
    board, _ = _board(fake, 10, 150)  # ~320 calls at 0.2 s, 8 at a time: a pass of ~8 s
    clean_board, _ = _board(fake, 10, 150, name="OKRs 2026 (clean)")
    fake.latency = 0.2
    (tmp_path / "run").mkdir()
    config = _config(tmp_path / "run", fake, board, interval="1s", board_interval="30s")
    d = daemons(config, ENV)

    # SIGTERM once the board's first pass is well into its writes.
    assert _poll(lambda: fake.calls["POST card idLabels"] >= 16, timeout=15, every=0.02), d.log_text()[-3000:]
    assert d.get("/healthz").json()["sources"]["okr-board"]["running"] is True
    code, took = d.stop(signal.SIGTERM)
    assert code == 0, d.log_text()[-3000:]
    # Well inside the 5 s grace (an abandoned pass would take all of it, and log "interrupted").
    assert took < 4, f"took {took:.2f}s to stop; log:\n{d.log_text()[-3000:]}"
    [partial] = _pass_events(d, "okr-board", "partial")
    assert "syncd is stopping; the rest of this source's work moves to its next pass" in partial["message"]
    assert 0 < partial["api_calls"].get("trello", 0)
    assert "waiting for the pass of okr-board" in d.event("stopping")["message"]
    assert not any(e.get("event") == "interrupted" for e in d.lines)  # not abandoned: it ended
    assert d.event("stopped")
    cut = _snapshot(fake, board)
    assert 0 < _written(cut) < len(cut)  # cut short, between two calls

    # The next start finishes the work (and stops cleanly after a reload too).
    fake.latency = 0.0
    d2 = daemons(config, ENV)
    d2.wait_for(
        lambda lines: any(
            e.get("source") == "okr-board" and e.get("outcome") == "ok" and e.get("writes") for e in lines
        ),
        20,
    )
    d2.proc.send_signal(signal.SIGHUP)
    d2.event("reloaded")
    assert d2.stop()[0] == 0

    # The same board synced in one uninterrupted run ends in the same state, and nothing is left to write.
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    clean = _config(tmp_path, fake, clean_board)
    assert main(["sync", "--config", str(clean), "--format", "json"]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert _snapshot(fake, board) == _snapshot(fake, clean_board)
    assert main(["sync", "--config", str(config), "--dry-run", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["writes"] == []
