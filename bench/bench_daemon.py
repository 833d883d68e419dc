"""`syncd run` over many passes: memory stays flat, and SIGTERM stops it fast.

Runs the service on a copy of the demo with a 50 ms interval for a while,
samples its resident memory, then times SIGTERM to exit, idle and in the
middle of a pass over a large CSV. Run: ``python3 bench/bench_daemon.py [seconds]``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Service:
    def __init__(self, config: Path):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(config), "--log-format", "json"],
            cwd=config.parent,
            env=env,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.passes = 0
        self.events: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                event = json.loads(line).get("event", "")
            except ValueError:
                continue
            self.events.append(event)
            if event == "pass":
                self.passes += 1

    def wait_for(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"gave up waiting; events so far: {self.events[-5:]}")
            time.sleep(0.01)

    def stop(self) -> float:
        started = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        assert code == 0, code
        return time.perf_counter() - started


def _demo(tmp: Path, interval: str) -> Path:
    shutil.copytree(ROOT / "tests" / "data" / "demo" / "examples", tmp / "examples")
    text = (ROOT / "tests" / "data" / "demo" / "syncd.toml").read_text()
    text = text.replace('interval = "15m"', f'interval = "{interval}"')
    (tmp / "syncd.toml").write_text(text)
    return tmp / "syncd.toml"


def main(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        service = _Service(_demo(Path(tmp), "50ms"))
        service.wait_for(lambda: service.passes >= 10)
        first = _rss_mib(service.proc.pid)
        time.sleep(seconds)
        last = _rss_mib(service.proc.pid)
        passes = service.passes
        idle_stop = service.stop()
    print(
        f"demo, 2 sources, 50 ms interval, {seconds:.0f} s: {passes} passes; "
        f"RSS {first:.1f} MiB after 10 passes, {last:.1f} MiB at the end"
    )
    print(f"SIGTERM to exit between passes: {idle_stop:.2f} s")

    with tempfile.TemporaryDirectory() as tmp:
        config = _demo(Path(tmp), "2s")  # the first pass starts within 10% of the interval
        rows = ["KPI,Value,Direction,Green,Red,Status"] + [f"K{i},{i % 100},higher,80,50," for i in range(20_000)]
        (Path(tmp) / "examples" / "kpis.csv").write_text("\n".join(rows) + "\n")
        service = _Service(config)
        service.wait_for(lambda: "started" in service.events)
        time.sleep(0.6)  # inside the first pass over 20,000 rows, before its write
        in_pass = service.passes == 0 or service.events.count("pass") < 2
        busy_stop = service.stop()
        text = (Path(tmp) / "examples" / "kpis.csv").read_text()
        whole = text.count("\n") == len(rows) and not list(Path(tmp, "examples").glob(".*.syncd-tmp"))
    print(
        f"SIGTERM to exit during a pass over a 20,000-row CSV: {busy_stop:.2f} s "
        f"(stopped inside the pass: {in_pass}; file whole: {whole}; "
        f"statuses written: {text.count(',Green') + text.count(',Red') + text.count(',Amber')})"
    )


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 30.0)
