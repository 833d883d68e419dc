"""Instructions, not seconds: evaluate + diff counted by valgrind, so machine load does not move them.

CPU time on a shared or throttled machine drifts by half between runs; an instruction count of the
same work does not. This counts, with ``valgrind --tool=callgrind``, what each phase of
``bench_evaluate``'s workload costs at N items: building the model, ``evaluate`` (without history,
and with six weeks of it) and ``desired_patches``. Each phase is the difference between two runs
that stop before and after it, so start-up and imports cancel out.

Run: ``python3 bench/bench_instructions.py [N] [--tree PATH]`` (N defaults to 10,000; ``--tree``
counts another checkout's syncd with this workload, e.g. an older commit beside this one, for a
before/after that load cannot blur). Needs valgrind (Debian's package).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The child: stop after ``phase`` (setup, build, evaluate, diff) of the workload.
CHILD = r"""
import gc, importlib, inspect, sys, types
sys.path.insert(0, sys.argv[1])
# The tree's syncd first: the workload module puts its own checkout on sys.path when it loads.
for name in ("syncd.config", "syncd.diff", "syncd.engine", "syncd.evaluate", "syncd.model"):
    importlib.import_module(name)
try:
    importlib.import_module("syncd.connectors")
except ImportError:  # a tree from before syncd.connectors: the workload only names REGISTRY
    sys.modules["syncd.connectors"] = types.SimpleNamespace(REGISTRY=None)
assert sys.modules["syncd"].__file__.startswith(sys.argv[1]), sys.modules["syncd"].__file__
spec = __import__("importlib.util").util.spec_from_file_location("w", sys.argv[2])
w = __import__("importlib.util").util.module_from_spec(spec)
spec.loader.exec_module(w)
n, phase, history = int(sys.argv[3]), sys.argv[4], sys.argv[5] == "history"
gc.disable()  # as the engine runs evaluate and diff
if phase == "setup":
    sys.exit(0)
kpis, objectives = w._items(n)
kpi_history, extra = {}, {}
if history:
    kpi_history, kr_history = w._history(kpis, objectives)
    if "key_result_history" in inspect.signature(w.evaluate).parameters:
        extra = {"key_result_history": kr_history}
if phase == "build":
    sys.exit(0)
result = w.evaluate(kpis, objectives, now=w.NOW, settings=w.EvalSettings(), history=kpi_history, **extra)
if phase == "evaluate":
    sys.exit(0)
w.desired_patches(result, kpis, objectives)
"""


def count(tree: Path, n: int, phase: str, history: bool) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-c", CHILD,
         str(tree), str(ROOT / "bench" / "bench_evaluate.py"), str(n), phase, "history" if history else "none"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return int(re.search(r"Collected : (\d+)", out.stderr).group(1))  # type: ignore[union-attr]


def main(argv: list[str]) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    tree = Path(argv[argv.index("--tree") + 1]).resolve() if "--tree" in argv else ROOT
    sizes = [int(a) for a in argv if a.isdigit()] or [10_000]
    print(f"instructions of syncd in {tree} (valgrind callgrind; millions)")
    print("(* building the model with its test data; history: the six weeks it is handed)")
    print(f"{'items':>8} {'history':>8} {'build*':>8} {'evaluate':>9} {'diff':>7} {'eval+diff':>10}")
    for n in sizes:
        for history in (False, True):
            marks = [count(tree, n, phase, history) for phase in ("setup", "build", "evaluate", "diff")]
            build, evaluate, diff = (b - a for a, b in zip(marks, marks[1:]))
            print(
                f"{n:>8,} {'6 weeks' if history else 'none':>8} {build / 1e6:>8.1f} {evaluate / 1e6:>9.1f} "
                f"{diff / 1e6:>7.1f} {(evaluate + diff) / 1e6:>10.1f}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
