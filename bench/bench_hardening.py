"""Issue 11's speed and memory targets, each measured side by side with its yardstick in one run.

1. First sync of a 20,000-row CSV KPI file (every Status written), CPU per row,
   against Python's csv module reading the same rows and parsing their numbers
   (``csv.reader`` + ``float``, and ``csv.DictReader`` + ``float``).  Target: <= 15x.
2. A cron run of the bundled demo (``syncd sync`` in a fresh process, nothing to
   write) against ``python -c 'import pydantic'``, CPU of each process, medians
   of interleaved runs, both from compiled bytecode (as installed).  Target: <= 3x.
3. Peak memory above the process's base (a 10-row file) of ``syncd sync --dry-run``
   of a CSV at 10,000 and 100,000 rows.  Target: <= 2 KiB per item.
4. Evaluate + diff at 100,000 items with the model building included (and the
   GC pause around it, as the engine runs them), items per CPU second.  Target: >= 200,000.
5. Peak memory above the process's base (10 pages) of ``syncd sync --dry-run`` of
   a Notion OKR workspace (objectives and key results, every property syncd reads
   filled in) at 10,000 and 100,000 pages, read from the loopback fake at a
   test-sized pace; the fake runs in a process of its own, so its memory does not
   count.  Target: <= 2 KiB per item.  Also the wall and CPU time of each run.

Run: ``python3 bench/bench_hardening.py`` (add ``--quick`` to skip the 100,000-item memory runs).
CPU time, not wall time, so a loaded machine changes the figures less; ratios are
measured side by side in one run.
"""

from __future__ import annotations

import compileall
import csv
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from syncd.config import load_config  # noqa: E402
from syncd.connectors import REGISTRY  # noqa: E402
from syncd.diff import desired_patches  # noqa: E402
from syncd.engine import paused_gc, sync  # noqa: E402
from syncd.evaluate import EvalSettings, evaluate  # noqa: E402
from syncd.model import KPI, KeyResult, KpiHistory, Objective  # noqa: E402

NOW = datetime(2026, 11, 15, 9, tzinfo=UTC)
HEAD = "KPI,Value,Direction,Green,Red,Cadence,Updated,Status\n"


def _csv(path: Path, n: int) -> None:
    rnd = random.Random(n)
    with path.open("w") as f:
        f.write(HEAD)
        for i in range(n):
            f.write(f"KPI {i},{rnd.uniform(0, 100):.1f}%,higher,80,50,weekly,2026-11-10,\n")


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _child(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """CPU seconds of one child process."""
    before = _cpu_children()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _cpu_children() - before


def _usage(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[int, float, float]:
    """Peak RSS (KiB), CPU seconds and wall seconds of ``cmd`` in a fresh process (a wrapper
    process of its own, so that the peak is that command's alone)."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        f"subprocess.run({cmd!r}, cwd={str(cwd)!r}, stdout=subprocess.DEVNULL, check=True); "
        "r = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(r.ru_maxrss, r.ru_utime + r.ru_stime, time.perf_counter() - t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    peak, cpu, wall = out.split()
    return int(peak), float(cpu), float(wall)


def _peak_rss_kib(cmd: list[str], cwd: Path) -> int:
    return _usage(cmd, cwd)[0]


def bench_first_sync(rows: int = 20_000) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _csv(folder / "orig.csv", rows)
        (folder / "s.toml").write_text('[syncd]\nstate = "s.db"\n[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\n')
        config = load_config(folder / "s.toml")

        def reader() -> float:
            t = time.process_time()
            with open(folder / "orig.csv", newline="", encoding="utf-8") as f:
                it = csv.reader(f)
                next(it)
                for row in it:
                    float(row[1].rstrip("%")), float(row[3]), float(row[4])
            return time.process_time() - t

        def dict_reader() -> float:
            t = time.process_time()
            with open(folder / "orig.csv", newline="", encoding="utf-8") as f:
                for row in csv.DictReader(f):
                    float(row["Value"].rstrip("%")), float(row["Green"]), float(row["Red"])
            return time.process_time() - t

        def first_sync() -> float:
            shutil.copy(folder / "orig.csv", folder / "k.csv")
            for f in folder.glob("s.db*"):
                f.unlink()
            t = time.process_time()
            report = sync(config, now=NOW, registry=REGISTRY)
            cpu = time.process_time() - t
            assert len(report.writes) == rows, len(report.writes)
            return cpu

        first_sync()  # warm: imports, caches
        base = min(reader() for _ in range(5))
        base_dict = min(dict_reader() for _ in range(5))
        ours = min(first_sync() for _ in range(3))
    per = 1e6 / rows
    print(f"1. first sync of a {rows:,}-row CSV (every Status written), CPU per row")
    print(f"   csv.reader + float      {base * per:8.2f} us")
    print(f"   csv.DictReader + float  {base_dict * per:8.2f} us")
    print(
        f"   syncd sync              {ours * per:8.2f} us   = {ours / base:.1f}x csv.reader, {ours / base_dict:.1f}x DictReader (target <= 15x)"
    )


def bench_cron(runs: int = 7) -> None:
    # Like for like: pydantic runs from the bytecode pip compiled at install, so syncd does too
    # (as an installed syncd does, and a checkout after its first run; compileall writes the
    # __pycache__ folders git ignores). Without this, and with PYTHONDONTWRITEBYTECODE set as on
    # this machine, every run of syncd would compile its own modules (about a third of it).
    for folder in ("syncd", "connectors", "mappings"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's syncd, whatever is installed
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "examples", folder / "examples")
        cfg = folder / "examples" / "syncd.toml"
        cron = [sys.executable, "-m", "syncd", "sync", "--config", str(cfg), "--now", "2026-11-15T09:00:00Z"]
        subprocess.run(cron, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # writes
        ours, theirs = [], []
        for _ in range(runs):  # interleaved, so load changes both alike
            theirs.append(_child([sys.executable, "-c", "import pydantic"], folder, env))
            ours.append(_child(cron, folder, env))
    a, b = statistics.median(ours), statistics.median(theirs)
    print("2. cron run of the demo (a fresh process, nothing to write), CPU, median of interleaved runs")
    print(f"   python -c 'import pydantic'  {b * 1000:7.1f} ms")
    print(f"   syncd sync (demo)            {a * 1000:7.1f} ms   = {a / b:.1f}x (target <= 3x)")


def bench_memory(sizes: list[int]) -> None:
    print("3. peak memory of syncd sync --dry-run of a CSV, above the base (10 rows)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for n in [10, *sizes]:
            _csv(folder / f"k{n}.csv", n)
            (folder / f"s{n}.toml").write_text(
                f'[syncd]\nstate = "s{n}.db"\n[[kpis]]\nname = "k"\ntype = "csv"\npath = "k{n}.csv"\n'
            )
        cmd = [sys.executable, "-m", "syncd", "sync", "--dry-run", "--now", "2026-11-15T09:00:00Z", "--config"]
        base = _peak_rss_kib([*cmd, "s10.toml"], folder)
        print(f"   base (10 rows)   {base / 1024:8.1f} MiB")
        for n in sizes:
            peak = _peak_rss_kib([*cmd, f"s{n}.toml"], folder)
            print(
                f"   {n:>7,} rows     {peak / 1024:8.1f} MiB   {(peak - base) / n:5.2f} KiB per item above base (target <= 2)"
            )


def bench_evaluate(n: int = 100_000) -> None:
    rnd = random.Random(n)
    updated = datetime(2026, 11, 10, tzinfo=UTC)
    # What a source's read hands the mapping: ids, names and parsed numbers (made before the clock
    # starts: generating test data is not syncd's work; building the model from it is).
    kpi_rows = [(f"k{i}", f"KPI {i}", rnd.uniform(0, 100)) for i in range(n // 2)]
    objective_rows = [
        (f"o{o}", f"Objective {o}", f"team {o % 50}",
         [(f"o{o}k{k}", f"Raise thing {k}", rnd.uniform(0, 100), f"k{rnd.randrange(n // 2)}" if k % 2 else None)
          for k in range(4)])
        for o in range(n // 10)
    ]  # fmt: skip

    def build() -> tuple[list[KPI], list[Objective]]:
        kpis = [
            KPI(id=i, name=name, value=v, direction="higher", green=80.0, red=50.0, cadence="weekly",
                updated=updated, source="b", written={"status": "Green"})
            for i, name, v in kpi_rows
        ]  # fmt: skip
        objectives = [
            Objective(id=oid, title=title, owner=owner, cycle="2026-Q4", source="b", written={"status": "On track"},
                      key_results=[
                KeyResult(id=kid, title=kt, objective=oid, start=0.0, target=100.0, current=c, kpi=kpi, source="b",
                          written={"progress": 0.5, "status": "On track"})
                for kid, kt, c, kpi in krs])
            for oid, title, owner, krs in objective_rows
        ]  # fmt: skip
        return kpis, objectives

    settings = EvalSettings()
    runs = []
    for _ in range(3):
        cpu = time.process_time()
        with paused_gc():
            kpis, objectives = build()
            history: dict[str, KpiHistory] = {}  # a first sync: the state store has none
            result = evaluate(kpis, objectives, now=NOW, settings=settings, history=history)
            patches = desired_patches(result, kpis, objectives)
        runs.append(time.process_time() - cpu)
        del kpis, objectives, history, result, patches
    cpu = statistics.median(runs)
    items = n
    print(
        f"4. model building + evaluate + diff of {items:,} items (median of 3): {cpu:.3f} s CPU = "
        f"{items / cpu:,.0f} items per CPU second (target >= 200,000)"
    )


TOKEN = "secret_bench_hardening"


def _serve_notion(pages: int) -> None:
    """The Notion fake holding an OKR workspace of ``pages`` pages, in this (separate) process:
    prints where it is, then serves until its stdin closes."""
    from tests.fakes.notion import NotionFake, okr_workspace

    with NotionFake((TOKEN,)) as fake:
        objectives = max(1, pages // 25)
        ws = okr_workspace(fake, objectives=objectives, key_results=pages - objectives)
        # as after earlier syncs: every property syncd reads holds a value
        for i, page in enumerate(ws["objectives"]):
            fake.edit(page, {"Type": "Committed", "Score": 0.5, "Status": "On track" if i % 3 else "At risk"})
        for i, page in enumerate(ws["key_results"]):
            fake.edit(page, {"Kind": "metric", "Weight": 1, "Progress": ((i * 7) % 101) / 100,
                             "Status": "On track" if i % 3 else "At risk"})  # fmt: skip
        fake.advance(hours=1)
        print(json.dumps({"url": fake.url, "objectives": ws["objectives_db"], "key_results": ws["key_results_db"]}))
        sys.stdout.flush()
        sys.stdin.read()


def bench_notion_memory(sizes: list[int]) -> None:
    print("5. peak memory of syncd sync --dry-run of a Notion OKR workspace, above the base (10 pages)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "NOTION_TOKEN": TOKEN}
        cmd = [sys.executable, "-m", "syncd", "sync", "--dry-run", "--now", "2026-11-15T12:00:00Z", "--config"]
        base = 0
        for n in [10, *sizes]:
            fake = subprocess.Popen([sys.executable, __file__, "--serve-notion", str(n)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, cwd=ROOT)  # fmt: skip
            try:
                assert fake.stdout is not None and fake.stdin is not None
                ws = json.loads(fake.stdout.readline())
                (folder / f"n{n}.toml").write_text(
                    f'[syncd]\nstate = "n{n}.db"\n[limits]\nnotion_per_second = 100000\n'
                    f'[[okrs]]\ntype = "notion"\nname = "okrs"\nobjectives = "{ws["objectives"]}"\n'
                    f'key_results = "{ws["key_results"]}"\nbase_url = "{ws["url"]}"\n'
                )
                peak, cpu, wall = _usage([*cmd, f"n{n}.toml"], folder, env)
            finally:
                if fake.stdin:
                    fake.stdin.close()
                fake.wait()
            if n == 10:
                base = peak
                print(f"   base (10 pages)  {base / 1024:8.1f} MiB")
            else:
                print(
                    f"   {n:>7,} pages    {peak / 1024:8.1f} MiB   {(peak - base) / n:5.2f} KiB per item above base "
                    f"(target <= 2)   {wall:5.1f} s wall, {cpu:5.1f} s CPU"
                )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--serve-notion"]:
        return _serve_notion(int(argv[1]))
    quick = "--quick" in argv
    print(
        f"syncd {os.path.basename(str(ROOT))} on Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n"
    )
    bench_first_sync()
    bench_cron()
    bench_memory([10_000] if quick else [10_000, 100_000])
    bench_evaluate()
    bench_notion_memory([10_000] if quick else [10_000, 100_000])


if __name__ == "__main__":
    main(sys.argv[1:])
