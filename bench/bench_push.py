"""Push (spec §9): edit-to-status latency, and API calls per hour for an idle pushed source.

1. Latency. `syncd run` (a real process) with ``push_delay = 2s`` over a board
   on the Trello fake and a workspace on the Notion fake (both loopback, as the
   tests use them). A person's edit changes a key result's Current; the fake
   delivers the signed event; the time is taken from the event's POST to the
   moment the new Progress reaches the fake. N edits per service (default 50),
   one after the other with a random pause, p50/p95/max reported.
2. API calls per hour for an idle source. Two copies of the same board, one
   pushed (reconcile 6h) and one polled (interval 15m), each on a fake of its
   own, run side by side with both intervals divided by ``SCALE`` (6 h of
   schedule in 24 s); the calls each fake received and the passes are counted,
   calls per idle pass measured, and per hour at the real intervals derived
   (the scaled clock stretches with pass time, so passes are counted, not
   hours); the pushed one's start-up registration is shown apart.

Run: ``python3 bench/bench_push.py [edits]``.
"""

from __future__ import annotations

import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.notion import NotionFake, okr_workspace  # noqa: E402
from tests.fakes.trello import TrelloFake  # noqa: E402
from tests.trello_helpers import okr_board  # noqa: E402

KEY, TOKEN, SECRET = "benchKey0000000000000000", "benchToken000000000000000000000000", "benchAppSecret0000000000"
NOTION_TOKEN = "secret_benchNotionToken000000000000000"
#: Schedule seconds per wall second in part 2 (6 h of schedule in 24 s).
SCALE = 900


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    def __init__(self, config: Path, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "syncd", "run", "--config", str(config), "--log-format", "json"],
            cwd=config.parent, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        self.lines: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.lines.append(json.loads(line))
            except ValueError:
                self.lines.append({"message": line})

    def wait(self, predicate: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("bench: condition not met; log tail:\n" + "\n".join(map(str, self.lines[-15:])))
            time.sleep(0.01)

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in list(self.lines) if e.get("event") == name]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)


def _syncd(folder: Path, port: int, body: str, extra: str = "") -> Path:
    path = folder / "syncd.toml"
    path.write_text(f"""
[syncd]
state = "syncd.db"
listen = "127.0.0.1:{port}"
public_url = "http://127.0.0.1:{port}"
push_delay = "2s"
{extra}
{body}
""", encoding="utf-8")  # fmt: skip
    return path


def _percentiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20, method="inclusive")
    return f"p50 {statistics.median(values):.2f} s, p95 {q[18]:.2f} s, max {max(values):.2f} s (n={len(values)})"


# --- 1. latency ----------------------------------------------------------------------------------


def _shown(current: int) -> str:
    """The Progress syncd writes for Current ``current`` of 0..100, as the fake keeps it."""
    return "1" if current == 100 else "0" if current == 0 else str(current / 100)


def trello_latency(folder: Path, edits: int, rng: random.Random) -> list[float]:
    with TrelloFake(key=KEY, token=TOKEN, secret=SECRET) as fake:
        board = okr_board(fake, 5, 40)
        port = free_port()
        config = _syncd(folder, port, f"""
[[okrs]]
type = "trello"
name = "board"
board = "{board}"
base_url = "{fake.url}"
push = true
""")  # fmt: skip
        svc = Service(config, {"TRELLO_API_KEY": KEY, "TRELLO_TOKEN": TOKEN, "TRELLO_APP_SECRET": SECRET})
        try:
            svc.wait(lambda: svc.events("webhook_ready") and any(p.get("writes") for p in svc.events("pass")))
            fake.deliveries.settled()
            cards = [c for c, v in fake.cards.items() if v["name"].startswith("KR ")]
            out = []
            for i in range(edits):
                card = rng.choice(cards)
                value = rng.choice([v for v in range(0, 101, 5) if _shown(v) != fake.value(card, "Progress")])
                expected = _shown(value)
                fake.deliveries.clear()
                fake.person_sets(card, "Current", value)
                (d,) = fake.deliveries.wait(lambda done: done[:1], 10)
                out.append(_until_written(d.sent, i, lambda: fake.value(card, "Progress") == expected))
                fake.deliveries.settled()
                time.sleep(rng.uniform(0.0, 0.5))
            return out
        finally:
            svc.stop()


def _until_written(sent: float, edit: int, written: Callable[[], bool]) -> float:
    """Seconds from the event's delivery until syncd's write shows in the fake."""
    while not written():
        if time.monotonic() - sent > 30:
            raise SystemExit(f"bench: edit {edit} never got its status")
        time.sleep(0.002)
    return time.monotonic() - sent


def _near(progress: float | None, want: float) -> bool:
    return progress is not None and abs(progress - want) <= 1e-9


def notion_latency(folder: Path, edits: int, rng: random.Random) -> list[float]:
    with NotionFake(tokens=(NOTION_TOKEN,)) as fake:
        ws = okr_workspace(fake, objectives=5, key_results=40)
        port = free_port()
        config = _syncd(folder, port, f"""
[limits]
notion_per_second = 3

[[okrs]]
type = "notion"
name = "team"
objectives = "{ws["objectives_db"]}"
key_results = "{ws["key_results_db"]}"
base_url = "{fake.url}"
push = true
""")  # fmt: skip
        svc = Service(config, {"NOTION_TOKEN": NOTION_TOKEN})
        try:
            svc.wait(lambda: svc.events("webhook_ready") and any(p.get("writes") for p in svc.events("pass")), 60)
            sub = fake.subscribe(f"http://127.0.0.1:{port}/hooks/notion/team")
            fake.verify(sub, (folder / "syncd.db.notion-team.token").read_text().strip())
            fake.deliveries.settled()
            out = []
            for i in range(edits):
                page = rng.choice(ws["key_results"])
                current = fake.get(page, "Current")
                value = rng.choice([v for v in range(0, 101, 5) if v != current])
                fake.advance(minutes=1)
                fake.deliveries.clear()
                fake.edit(page, {"Current": value})
                (d,) = fake.deliveries.wait(lambda done: done[:1], 10)
                out.append(_until_written(d.sent, i, lambda: _near(fake.get(page, "Progress"), value / 100)))
                fake.deliveries.settled()
                time.sleep(rng.uniform(0.0, 0.5))
            return out
        finally:
            svc.stop()


# --- 2. API calls per hour, idle ------------------------------------------------------------------


def idle_calls(folder: Path) -> dict[str, Any]:
    # The defaults, scaled: interval 15m and reconcile 6h become 1 s and 24 s; the window is a
    # little longer than one reconcile interval, so the pushed source has exactly one idle pass in it.
    interval, reconcile = 900 / SCALE, 6 * 3600 / SCALE
    window = reconcile * 1.2
    with TrelloFake(key=KEY, token=TOKEN, secret=SECRET) as pushed, TrelloFake(key=KEY, token=TOKEN) as polled:
        boards = {"pushed": okr_board(pushed, 5, 40), "polled": okr_board(polled, 5, 40)}
        port = free_port()
        config = _syncd(folder, port, f"""
[[okrs]]
type = "trello"
name = "pushed"
board = "{boards["pushed"]}"
base_url = "{pushed.url}"
push = true

[[okrs]]
type = "trello"
name = "polled"
board = "{boards["polled"]}"
base_url = "{polled.url}"
""", extra=f'interval = "{interval * 1000:.0f}ms"\nreconcile = "{reconcile * 1000:.0f}ms"')  # fmt: skip
        svc = Service(config, {"TRELLO_API_KEY": KEY, "TRELLO_TOKEN": TOKEN, "TRELLO_APP_SECRET": SECRET})
        try:
            # Wait for both first passes (they write every status): from then on both are idle.
            svc.wait(lambda: {p["source"] for p in svc.events("pass")} >= {"pushed", "polled"}
                     and svc.events("webhook_ready"))  # fmt: skip
            pushed.deliveries.settled()
            # Registration: the member, the board's id (one GET board with fields=id), the webhook list, the create.
            setup = sum(pushed.calls[k] for k in ("GET members me", "GET token webhooks", "POST webhooks")) + 1
            fakes = {"pushed": pushed, "polled": polled}
            calls0 = {k: sum(f.calls.values()) for k, f in fakes.items()}
            passes0 = {k: sum(p["source"] == k for p in svc.events("pass")) for k in fakes}
            time.sleep(window)
            calls = {k: sum(f.calls.values()) - calls0[k] for k, f in fakes.items()}
            passes = {k: sum(p["source"] == k for p in svc.events("pass")) - passes0[k] for k in fakes}
            per_pass = {k: calls[k] / passes[k] if passes[k] else float("nan") for k in fakes}
            # Per hour with the real defaults: 4 polls an hour against one every 6 hours.
            per_hour = {"polled": per_pass["polled"] * 4, "pushed": per_pass["pushed"] / 6}
            return {"window_h": window * SCALE / 3600, "calls": calls, "passes": passes, "per_pass": per_pass,
                    "per_hour": per_hour, "setup": setup}  # fmt: skip
        finally:
            svc.stop()


def main() -> None:
    edits = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp:
        for name, fn in (("trello", trello_latency), ("notion", notion_latency)):
            folder = Path(tmp) / name
            folder.mkdir()
            got = fn(folder, edits, rng)
            print(f"edit-to-status, {name}, push_delay 2s: {_percentiles(got)}", flush=True)
        folder = Path(tmp) / "idle"
        folder.mkdir()
        r = idle_calls(folder)
        print(
            f"idle board over {r['window_h']:.1f} h of schedule (clock x{SCALE}): "
            f"polled (15m): {r['passes']['polled']} passes, {r['calls']['polled']} calls; "
            f"pushed (reconcile 6h): {r['passes']['pushed']} pass(es), {r['calls']['pushed']} calls"
        )
        ratio = r["per_hour"]["polled"] / r["per_hour"]["pushed"] if r["per_hour"]["pushed"] else float("inf")
        print(f"API calls per hour, idle board, default intervals: polled {r['per_hour']['polled']:.2f}, "
              f"pushed {r['per_hour']['pushed']:.3f} ({ratio:.0f}x fewer), plus {r['setup']} calls once at start "
              "(member, board id, webhook list, webhook create)")  # fmt: skip


if __name__ == "__main__":
    main()
