"""Alerts: colour changes and the weekly digest, each sent once, across crashes."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from syncd.alerts import Alerts, digest_slot
from syncd.config import load_config
from syncd.http import RetryPolicy
from syncd.model import Evaluation, KeyResultResult, KpiResult, ObjectiveResult
from syncd.state import SQLiteStore
from tests.conftest import write_config
from tests.fakes.webhook import WebhookReceiver

FAST = RetryPolicy(attempts=3, initial=0.01, max_backoff=0.02, sleep=lambda s: None)


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def _config(tmp_path: Path, alerts: str = '[[alerts]]\nurl_env = "HOOK"\n', tz: str = "UTC"):
    body = f'[syncd]\ntimezone = "{tz}"\n\n[[kpis]]\nname = "k"\ntype = "csv"\npath = "k.csv"\n\n{alerts}'
    return load_config(write_config(tmp_path / "syncd.toml", body))


def _report(when: str, nps: str = "green", kr: str = "on_track", nps_value: float | None = 41) -> SimpleNamespace:
    kpi = KpiResult(id="K03", name="Net promoter score", value=nps_value, unit=None, status=nps, source="k")
    objective = ObjectiveResult(
        id="O1",
        title="Win the mid-market",
        cycle="2026-Q4",
        score=0.5,
        status=kr,
        source="k",
        key_results=[KeyResultResult(id="KR6", title="Lift NPS from 30 to 50", current=41, progress=0.55, status=kr)],
    )
    return SimpleNamespace(now=datetime.fromisoformat(when), evaluation=Evaluation(kpis=[kpi], objectives=[objective]))


def _alerts(config, store, hook, **kw) -> Alerts:
    return Alerts(config, store, {"HOOK": hook.hook_url()}, policy=kw.pop("policy", FAST), **kw)


def test_a_colour_change_is_sent_once(tmp_path, hook):
    store = SQLiteStore(tmp_path / "s.db")
    alerts = _alerts(_config(tmp_path), store, hook)
    assert alerts.observe(_report("2026-11-15T09:00:00+00:00")) == 0  # first sight: not a change
    assert alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red", kr="off_track", nps_value=10)) == 2
    alerts.flush()
    texts = [m.text for m in hook.messages]
    assert len(texts) == 2
    kpi = next(t for t in texts if "KPI" in t)
    assert "*Net promoter score* is now red (was green): value 10" in kpi
    kr = next(t for t in texts if "Key result" in t)
    assert "(objective Win the mid-market) is now red, off track (was green, on track)" in kr
    # Nothing new: no message; a flush sends nothing twice.
    assert alerts.observe(_report("2026-11-15T09:30:00+00:00", nps="red", kr="off_track")) == 0
    alerts.flush()
    assert len(hook.messages) == 2
    keys = [m.idempotency_key for m in hook.messages]
    assert all(keys) and len(set(keys)) == 2


def test_no_data_is_not_a_colour(tmp_path, hook):
    store = SQLiteStore(tmp_path / "s.db")
    alerts = _alerts(_config(tmp_path), store, hook)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    assert alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="no_data", nps_value=None)) == 0
    assert alerts.observe(_report("2026-11-15T09:30:00+00:00", nps="green")) == 0  # back to the same colour
    assert alerts.observe(_report("2026-11-15T09:45:00+00:00", nps="amber")) == 1


def test_every_alert_table_gets_its_own_copy(tmp_path, hook):
    config = _config(
        tmp_path,
        '[[alerts]]\nname = "ops"\nurl_env = "HOOK"\n\n'
        '[[alerts]]\nname = "quiet"\nurl_env = "HOOK"\non_change = false\n\n'
        '[[alerts]]\nname = "team"\nurl_env = "HOOK"\n',
    )
    alerts = _alerts(config, SQLiteStore(tmp_path / "s.db"), hook)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    assert alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="amber")) == 2
    alerts.flush()
    assert len(hook.messages) == 2


def test_intent_is_recorded_first_so_a_crash_before_sending_sends_later_once(tmp_path, hook):
    config = _config(tmp_path)
    store = SQLiteStore(tmp_path / "s.db")
    alerts = _alerts(config, store, hook)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red"))
    store.close()  # "killed" before the sender ran
    assert hook.messages == []
    for _ in range(2):  # two restarts: the first sends, the second has nothing to send
        store = SQLiteStore(tmp_path / "s.db")
        again = _alerts(config, store, hook)
        again.recover()
        again.flush()
        store.close()
    assert len(hook.messages) == 1


def test_a_message_cut_off_mid_post_is_never_posted_again(tmp_path, hook, caplog):
    config = _config(tmp_path)
    store = SQLiteStore(tmp_path / "s.db")
    alerts = _alerts(config, store, hook)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red"))
    with store.transaction() as db:  # what a SIGKILL between "sending" and "sent" leaves
        db.execute("UPDATE alert_outbox SET state = 'sending'")
    caplog.set_level(logging.WARNING)
    assert _alerts(config, store, hook).recover() == 1
    alerts.flush()
    assert hook.messages == []
    assert "may not have arrived" in caplog.text


def test_a_webhook_answering_500_for_a_while_gets_the_message_once(tmp_path, hook):
    alerts = _alerts(_config(tmp_path), SQLiteStore(tmp_path / "s.db"), hook)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red"))
    hook.fail_next(2, 500)  # within one call's retries
    alerts.flush()
    assert len(hook.messages) == 1 and hook.calls["post"] == 3


def test_a_webhook_down_longer_keeps_the_message_for_a_later_try(tmp_path, hook):
    clock = [1000.0]
    alerts = _alerts(_config(tmp_path), SQLiteStore(tmp_path / "s.db"), hook, clock=lambda: clock[0])
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red"))
    hook.fail_next(3, 503)  # the whole first call (3 attempts)
    wait = alerts.flush()
    assert hook.messages == [] and alerts.pending() == 1
    assert 0 < wait <= 2.0
    alerts.flush()  # not due yet: not tried
    assert hook.calls["post"] == 3
    clock[0] += wait
    alerts.flush()
    assert len(hook.messages) == 1 and alerts.pending() == 0


def test_a_refused_message_is_not_retried(tmp_path, hook, caplog):
    config = _config(tmp_path)
    alerts = Alerts(config, SQLiteStore(tmp_path / "s.db"), {"HOOK": hook.url + "/wrong/path"}, policy=FAST)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red"))
    caplog.set_level(logging.WARNING)
    alerts.flush()
    alerts.flush()
    assert sum(hook.calls.values()) == 1
    assert "refused the message (404" in caplog.text and "given up" in caplog.text


def test_a_missing_webhook_variable_keeps_messages_and_says_which(tmp_path, hook, caplog):
    alerts = Alerts(_config(tmp_path), SQLiteStore(tmp_path / "s.db"), {}, policy=FAST)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red"))
    caplog.set_level(logging.WARNING)
    alerts.flush()
    assert alerts.pending() == 1
    assert "environment variable HOOK is not set" in caplog.text


def test_digest_slot_is_in_the_same_iso_week():
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    sunday = datetime(2026, 11, 15, 20, 0, tzinfo=berlin)  # ISO week 46 ends on this Sunday
    assert digest_slot(sunday, "monday", 9) == datetime(2026, 11, 9, 9, 0, tzinfo=berlin)
    assert digest_slot(sunday, "sunday", 21) == datetime(2026, 11, 15, 21, 0, tzinfo=berlin)


def test_the_weekly_digest_is_sent_once_at_its_day_and_hour(tmp_path, hook):
    config = _config(
        tmp_path, '[[alerts]]\nurl_env = "HOOK"\ndigest_day = "monday"\ndigest_hour = 9\n', tz="Europe/Berlin"
    )
    store = SQLiteStore(tmp_path / "s.db")
    alerts = _alerts(config, store, hook)
    alerts.observe(_report("2026-11-15T09:00:00+00:00"))
    alerts.observe(_report("2026-11-15T09:15:00+00:00", nps="red", kr="at_risk"))
    alerts.flush()
    hook.messages.clear()

    def at(iso: str) -> int:
        return alerts.check_digest(datetime.fromisoformat(iso))

    assert at("2026-11-16T07:59:00+00:00") == 0  # 08:59 in Berlin
    assert at("2026-11-16T08:00:00+00:00") == 1  # 09:00 in Berlin
    assert at("2026-11-16T08:30:00+00:00") == 0  # once per week
    # A restart in the same week does not send it again.
    assert _alerts(config, store, hook).check_digest(datetime(2026, 11, 16, 12, tzinfo=UTC)) == 0
    alerts.flush()
    assert len(hook.messages) == 1
    text = hook.messages[0].text
    assert "weekly digest, 2026-W47" in text
    assert "1 red" in text and "1 amber" in text and "0 green" in text
    assert "KPI Net promoter score (k)" in text and "(2 colour change(s) this week)" in text
    # More than a day late: skipped, next week's comes on time.
    assert at("2026-11-24T09:00:00+00:00") == 0
    assert at("2026-11-30T08:00:00+00:00") == 1


def test_the_digest_lists_the_history_warnings_new_this_week(tmp_path, hook):
    from syncd.model import Warning

    config = _config(tmp_path, '[[alerts]]\nurl_env = "HOOK"\ndigest_day = "monday"\ndigest_hour = 9\n')
    store = SQLiteStore(tmp_path / "s.db")
    alerts = _alerts(config, store, hook)
    found = [
        Warning(
            "forecast_short", "O1", "Objective 'Win the mid-market' is on track today; at this pace it ends at 0.52"
        ),
        Warning("no_check_in", "KR6", "Key result 'Lift NPS from 30 to 50' has not changed for 15 days"),
        Warning("red_kpi_without_okr", "K03", "KPI 'Net promoter score' has been red for 21 days"),
        Warning("kpi_as_okr", "O1", "not a digest warning"),
    ]

    def observe(when: str, warnings: list) -> None:
        report = _report(when)
        report.evaluation.warnings = warnings
        alerts.observe(report)

    def digest(when: str) -> str:
        hook.messages.clear()
        assert alerts.check_digest(datetime.fromisoformat(when)) == 1
        alerts.flush()
        return hook.messages[0].text

    observe("2026-11-12T09:00:00+00:00", found)
    text = digest("2026-11-16T09:00:00+00:00")
    assert "*New this week: objectives on track today but short at their pace* (1):" in text
    assert "• Objective 'Win the mid-market' is on track today; at this pace it ends at 0.52" in text
    assert "has not changed for 15 days" in text and "has been red for 21 days" in text
    assert "not a digest warning" not in text
    # Still there a week later: not new, not listed. The check-in was made, then missed again: new again.
    observe("2026-11-19T09:00:00+00:00", [w for w in found if w.code != "no_check_in"])
    observe("2026-11-20T09:00:00+00:00", found)
    text = digest("2026-11-23T09:00:00+00:00")
    assert "Net promoter score' has been red" not in text and "at this pace" not in text
    assert "*New this week: key results nobody has updated* (1):" in text
