"""Replicas on PostgreSQL: takeover time after SIGKILL, and PostgreSQL's cost per pass against SQLite.

1. Takeover: two ``syncd run`` replicas (``lease_ttl`` 5s, interval 1s) on a throwaway PostgreSQL
   cluster; the leaseholder is killed with SIGKILL, a fresh standby is started, and so on, 10
   times. Measured: from the kill to the survivor's ``lease_taken`` log line, and to the end of its
   first pass. The bound is ``lease_ttl`` + one interval.
2. Overhead: one pass over 1,000 items (a CSV of 500 KPIs and one of 500 key results that follow
   them), steady state (nothing to write), in one process, SQLite file vs PostgreSQL over loopback.

Run: ``python3 bench/bench_replicas.py [runs]`` (needs PostgreSQL installed; as root it runs the
server as the ``postgres`` user).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pgserver import PASSWORD, PgServer  # noqa: E402

TTL, INTERVAL = 5.0, 1.0


class Replica:
    def __init__(self, config: Path):
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PGPASSWORD": PASSWORD}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(config), "--log-format", "json"],
            cwd=config.parent,
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.events: list[tuple[float, dict]] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self._cond:
                self.events.append((time.monotonic(), e))
                self._cond.notify_all()

    def wait(self, pred, timeout: float = 60.0) -> float:
        """The time of the first event matching ``pred``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, e in self.events:
                    if pred(e):
                        return t
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("event not seen")
                self._cond.wait(min(left, 0.2))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


def takeover(pg: PgServer, runs: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="syncd-bench-rep-"))
    (folder / "kpis.csv").write_text("KPI,Value,Direction,Green,Red,Status\nChurn,3.5,lower,3,5,\n")
    dsn = pg.new_schema("bench_takeover")
    config = folder / "syncd.toml"
    config.write_text(
        f'[syncd]\nstate = "{dsn}"\nlease_ttl = "{TTL}s"\ninterval = "{INTERVAL}s"\n\n'
        '[[kpis]]\nname = "kpis"\ntype = "csv"\npath = "kpis.csv"\n'
    )
    holder = Replica(config)
    holder.wait(lambda e: e.get("event") == "lease_taken")
    taken, first_pass = [], []
    try:
        for _ in range(runs):
            standby = Replica(config)
            standby.wait(lambda e: e.get("event") == "replica")
            holder.wait(lambda e: e.get("event") == "pass" and e.get("outcome") == "ok")
            time.sleep(0.5 + (len(taken) % 5) * 0.2)  # kill at different points of the renewal cycle
            holder.kill()
            killed = time.monotonic()
            t = standby.wait(lambda e: e.get("event") == "lease_taken", timeout=TTL * 4)
            p = standby.wait(lambda e: e.get("event") == "pass" and e.get("outcome") == "ok", timeout=TTL * 4)
            taken.append(t - killed)
            first_pass.append(p - killed)
            holder = standby
    finally:
        holder.kill()
    return {
        "runs": runs,
        "lease_ttl_s": TTL,
        "interval_s": INTERVAL,
        "bound_s": TTL + INTERVAL,
        "lease_taken_s": {"median": round(statistics.median(taken), 2), "max": round(max(taken), 2)},
        "first_pass_done_s": {"median": round(statistics.median(first_pass), 2), "max": round(max(first_pass), 2)},
    }


def overhead(pg: PgServer, passes: int = 15) -> dict:
    from syncd.config import load_config
    from syncd.connectors import REGISTRY
    from syncd.engine import sync
    from syncd.state import open_store

    os.environ["PGPASSWORD"] = PASSWORD
    folder = Path(tempfile.mkdtemp(prefix="syncd-bench-pg-"))
    with (folder / "kpis.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ID", "KPI", "Value", "Direction", "Green", "Red", "Status"])
        for i in range(500):
            w.writerow([f"K{i}", f"KPI {i}", 50 + i % 40, "higher", 60, 40, ""])
    with (folder / "okrs.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "ID",
                "Objective",
                "Key result",
                "Kind",
                "Start",
                "Target",
                "Current",
                "KPI",
                "Cycle",
                "Progress",
                "Status",
            ]
        )
        for i in range(500):
            w.writerow(
                [f"KR{i}", f"Objective {i // 5}", f"Lift KPI {i}", "metric", 0, 100, "", f"KPI {i}", "2026-Q4", "", ""]
            )
    out = {}
    for kind, state in (("sqlite", "syncd.db"), ("postgresql", pg.new_schema("bench_overhead"))):
        (folder / "syncd.toml").write_text(
            f'[syncd]\nstate = "{state}"\n[[kpis]]\nname = "kpis"\ntype = "csv"\npath = "kpis.csv"\n'
            '[[okrs]]\nname = "okrs"\ntype = "csv"\npath = "okrs.csv"\n'
        )
        config = load_config(folder / "syncd.toml")
        store = open_store(config)
        times = []
        try:
            for i in range(passes + 2):
                now = datetime(2026, 11, 1 + i % 28, 9, tzinfo=UTC)
                started = time.perf_counter()
                report = sync(config, now=now, registry=REGISTRY, state=store)
                if i >= 2:  # steady state: the first passes write the statuses
                    times.append(time.perf_counter() - started)
                assert not report.errors, report.errors
        finally:
            store.close()
        out[kind] = round(statistics.median(times) * 1000, 1)
    items = 500 + 500 + 100  # KPIs, key results, objectives
    return {
        "items": items,
        "pass_ms_median": out,
        "postgresql_over_sqlite": round(out["postgresql"] / out["sqlite"], 2),
        "extra_ms_per_pass": round(out["postgresql"] - out["sqlite"], 1),
    }


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    pg = PgServer().start()
    try:
        result = {"overhead": overhead(pg), "takeover": takeover(pg, runs)}
    finally:
        pg.stop()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
