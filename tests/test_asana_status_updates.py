"""Asana status updates: one per colour change, never twice, killed or not."""

from __future__ import annotations

import pytest

from syncd.intents import Intents
from tests.asana_helpers import DictCache, asana, asana_server, open_asana, patches_for, sync_once  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _pacers():
    yield


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


def _tree(fake, current: float = 90.0, status: str = "red"):
    """An objective with one metric key result that was red and is now on track."""
    ws = fake.add_workspace()
    top = fake.add_goal(ws, "Grow", metric=(0, 1, 0), status=None, start_on="2026-10-01", due_on="2026-12-31")
    kr = fake.add_goal(ws, "Signups", metric=(0, 100, current), status=status)
    fake.add_subgoal(top, kr)
    return ws, kr


def test_a_colour_change_posts_one_status_update_and_a_second_pass_none(asana):
    ws, kr = _tree(asana)
    cache = DictCache()
    source = open_asana(asana, ws, cache=cache, status_updates=True)
    _, patches, errors = sync_once(source)
    assert errors == []
    (update,) = asana.updates_on(kr)
    assert update["status_type"] == "on_track"
    assert update["text"] == "2026-11-15: status changed from Off track to On track; progress 90% (syncd)"
    assert asana.goals[kr]["status"] == "green"
    body = next(r for r in asana.log if r.method == "POST" and r.path.endswith("/status_updates")).json()
    assert set(body["data"]) == {"parent", "status_type", "title", "text"} and body["data"]["parent"] == kr
    # the objective had no colour yet: its first status is written, with no update (as Notion comments)
    assert asana.updates_on(next(iter(asana.goals))) == []

    asana.reset_counts()
    _, patches2, errors2 = sync_once(open_asana(asana, ws, cache=cache, status_updates=True))
    assert patches2 == [] and errors2 == [] and asana.calls["POST status_updates"] == 0
    assert len(asana.updates_on(kr)) == 1


def test_off_by_default(asana):
    ws, kr = _tree(asana)
    sync_once(open_asana(asana, ws))
    assert asana.goals[kr]["status"] == "green" and asana.updates_on(kr) == []


@pytest.mark.parametrize("where", ["before the status", "before the post", "after the post"])
def test_killed_at_any_point_the_next_pass_posts_exactly_one(asana, monkeypatch, where):
    ws, kr = _tree(asana)
    cache = DictCache()
    source = open_asana(asana, ws, cache=cache, status_updates=True)
    result = source.read()
    patches = patches_for(source, result)
    transport = source._transport()
    real_request = transport.request

    def request(method, path, **kw):
        if where == "before the status" and method == "PUT" and path.endswith(kr):  # the intent is saved
            raise Killed
        if where == "before the post" and path == "/status_updates" and method == "POST":
            raise Killed
        return real_request(method, path, **kw)

    def done(self, key):
        raise Killed

    monkeypatch.setattr(transport, "request", request)
    if where == "after the post":
        monkeypatch.setattr(Intents, "_done", done)  # posted, killed before it is marked sent
    with pytest.raises(Killed):
        source.write(patches)
    monkeypatch.undo()
    assert len(asana.updates_on(kr)) == (1 if where == "after the post" else 0)

    (action,) = open_asana(asana, ws, cache=cache, status_updates=True, dry_run=True).prepare()
    assert action.description.startswith("finish 1 status update(s) an earlier pass left unposted")
    for _ in range(2):  # the next passes converge: one update, the status set, nothing more
        _, more, errors = sync_once(open_asana(asana, ws, cache=cache, status_updates=True))
        assert errors == []
    assert len(asana.updates_on(kr)) == 1 and asana.goals[kr]["status"] == "green"


def test_an_ambiguous_failure_is_looked_up_before_posting_again(asana):
    ws, kr = _tree(asana)
    source = open_asana(asana, ws, status_updates=True)
    result = source.read()
    asana.lose_update_answers = 1  # Asana takes the update, then the answer is a 503
    assert source.write(patches_for(source, result)) == []
    assert len(asana.updates_on(kr)) == 1
    assert asana.calls["POST status_updates"] == 1 and asana.calls["GET status_updates"] == 1


def test_a_refused_update_is_reported_but_the_status_stands(asana):
    ws, kr = _tree(asana)
    source = open_asana(asana, ws, status_updates=True)
    result = source.read()
    asana.refuse_updates = True
    (error,) = source.write(patches_for(source, result))
    assert error.fields == () and "status update" in error.message and "403" in error.message
    assert asana.goals[kr]["status"] == "green" and asana.updates_on(kr) == []
