"""The Trello source against the loopback fake: reads, writes at the floor, failures."""

from __future__ import annotations

import pytest

from syncd.http import Runtime
from syncd.model import Patch
from syncd.source import SourceError
from tests.fakes.trello import TrelloRateLimit
from tests.trello_helpers import fake, okr_board, open_trello, patches_for, server, sync_once  # noqa: F401 - fixtures


def _krs(result):
    return [kr for o in result.objectives for kr in o.key_results]


def _card(fake, name):
    return next(c for c in fake.cards.values() if c["name"] == name)


# --- the "done when" ----------------------------------------------------------------


def test_board_of_300_cards_reads_once_writes_at_the_floor_and_then_nothing(fake):
    board = okr_board(fake, 10, 300)
    source = open_trello(fake, board)
    result, patches, errors = sync_once(source)

    assert errors == []
    assert len(result.objectives) == 10 and len(_krs(result)) == 300
    assert fake.calls["GET board"] == 1 and source.calls["read"] == 1
    changed_cards = {p.ref for p in patches}
    label_changes = sum(1 for p in patches if p.field == "status")
    assert fake.calls["PUT card customFields"] == len({p.ref for p in patches if p.field != "status"})
    assert fake.calls["POST card idLabels"] == label_changes
    assert sum(fake.calls.values()) == 1 + len({p.ref for p in patches if p.field != "status"}) + label_changes
    assert len(changed_cards) == 310  # 300 key results and 10 objective cards
    kr = _card(fake, "KR 1.2")  # current 37 of 0..100
    assert fake.value(kr["id"], "Progress") == "0.37"
    assert fake.label_names(kr["id"]) == ["At risk"] or fake.label_names(kr["id"]) in (["On track"], ["Off track"])
    head = _card(fake, "Objective 1")
    assert fake.value(head["id"], "Score") is not None and "Objective" in fake.label_names(head["id"])

    fake.reset_counts()
    again = open_trello(fake, board)
    result2, patches2, errors2 = sync_once(again)
    assert patches2 == [] and errors2 == []
    assert dict(fake.calls) == {"GET board": 1}


def test_status_label_matches_the_evaluation_and_people_labels_survive(fake):
    board = fake.add_board("OKRs")
    people = fake.add_label(board, "Customer", "blue")
    at_risk = fake.add_label(board, "AT RISK", "yellow")  # case does not matter
    for text, colour in (("On track", "green"), ("Off track", "red"), ("Done", "green")):
        fake.add_label(board, text, colour)
    for f in ("Start", "Target", "Current", "Progress"):
        fake.add_field(board, f)
    lst = fake.add_list(board, "Grow")
    done = fake.add_card(lst, "Done one", labels=[people, at_risk], fields={"Start": 0, "Target": 10, "Current": 10})
    source = open_trello(fake, board, cycle="2026-Q4")
    result, patches, errors = sync_once(source)
    assert errors == []
    assert fake.label_names(done) == ["Customer", "Done"]
    assert fake.calls["DELETE card idLabels"] == 1 and fake.calls["POST card idLabels"] == 1
    # A person adds one of syncd's labels by hand: the next pass removes only that one.
    fake.cards[done]["idLabels"].append(at_risk)
    result, patches, errors = sync_once(open_trello(fake, board, cycle="2026-Q4"))
    assert [(p.field, p.old, p.new) for p in patches] == [("status", "At risk, Done", "Done")]
    assert fake.label_names(done) == ["Customer", "Done"]


def test_statuses_without_a_label_remove_syncds_labels_and_add_none(fake):
    board = okr_board(fake, 1, 0)
    lst = next(iter(fake.lists))
    on_track = next(i for i, lb in fake.labels.items() if lb["name"] == "On track")
    card = fake.add_card(lst, "Unmeasured", labels=[on_track], fields={"Start": 0, "Target": 10})
    source = open_trello(fake, board)
    result, patches, errors = sync_once(source)
    assert ("status", "On track", "No data") in [(p.field, p.old, p.new) for p in patches if p.item == card]
    assert fake.label_names(card) == []
    # Nothing on the card now, which already shows "No data": the next pass writes nothing.
    fake.reset_counts()
    result, patches, errors = sync_once(open_trello(fake, board))
    assert [p for p in patches if p.item == card] == []
    assert "DELETE card idLabels" not in fake.calls and "POST card idLabels" not in fake.calls


def test_progress_scale_100_writes_percent_numbers_and_reads_them_back(fake):
    board = okr_board(fake, 1, 3)
    source = open_trello(fake, board, progress_scale=100)
    sync_once(source)
    kr = _card(fake, "KR 1.2")
    assert fake.value(kr["id"], "Progress") == "37"
    fake.reset_counts()
    _, patches, _ = sync_once(open_trello(fake, board, progress_scale=100))
    assert patches == [] and dict(fake.calls) == {"GET board": 1}


def test_missing_labels_and_fields_are_created_and_reported(fake):
    board = okr_board(fake, 2, 4, labels=False, fields=False)
    source = open_trello(fake, board)
    result, patches, errors = sync_once(source)
    assert errors == []
    assert fake.calls["POST label"] == 4 and fake.calls["POST customField"] == 2
    colours = {lb["name"]: lb["color"] for lb in fake.labels.values()}
    assert colours["On track"] == "green" and colours["At risk"] == "yellow"
    assert colours["Off track"] == "red" and colours["Done"] == "green"
    assert 'created label "On track" (green) on board "OKRs 2026"' in result.notes
    assert 'created custom field "Progress" (number) on board "OKRs 2026"' in result.notes
    assert fake.value(_card(fake, "KR 1.2")["id"], "Progress") == "0.37"
    fake.reset_counts()
    result, patches, _ = sync_once(open_trello(fake, board))
    assert patches == [] and result.notes == [] and dict(fake.calls) == {"GET board": 1}


def test_create_missing_false_creates_nothing_and_says_so(fake):
    board = okr_board(fake, 1, 2, labels=False, fields=False)
    result, patches, errors = sync_once(open_trello(fake, board, create_missing=False))
    assert "POST label" not in fake.calls and "POST customField" not in fake.calls
    assert any("create_missing = false" in n and '"On track"' in n for n in result.notes)
    assert any('"Progress"' in n for n in result.notes)
    assert patches == []  # nothing writable
    assert all(kr.written == {} for kr in _krs(result))


def test_dry_run_creates_nothing_but_shows_the_writes(fake):
    board = okr_board(fake, 1, 2, labels=False, fields=False)
    source = open_trello(fake, board, dry_run=True)
    result = source.read()
    planned = [f"would {a.description}" for a in source.prepare()]  # what the dry run shows
    assert dict(fake.calls) == {"GET board": 1}
    assert any(n.startswith('would create label "On track"') for n in planned)
    assert {p.field for p in patches_for(source, result)} == {"status", "progress", "score"}


def test_card_kinds_values_and_problems(fake):
    board = fake.add_board("Kinds")
    fake.add_label(board, "Objective")
    for f in ("Start", "Current", "Weight", "Progress"):
        fake.add_field(board, f)
    fake.add_field(board, "Target", "text")  # somebody made it a text field
    fake.add_field(board, "KPI", "text")
    lst = fake.add_list(board, "Ship it")
    check = fake.add_card(lst, "Checklist", checklists=[[("a", True), ("b", False)], [("c", True), ("d", False)]])
    done = fake.add_card(lst, "Milestone done", due="2026-11-01T00:00:00.000Z", due_complete=True)
    open_ms = fake.add_card(lst, "Milestone open", due="2026-12-01T00:00:00.000Z")
    kpi = fake.add_card(lst, "Follows", fields={"KPI": "Churn", "Start": "5", "Target": "2", "Weight": "2"})
    bad = fake.add_card(lst, "Bad target", fields={"Start": "1", "Target": "n/a", "Current": "1"})
    bare = fake.add_card(lst, "Bare")
    krs = {kr.id: kr for kr in _krs(open_trello(fake, board).read())}
    assert (krs[check].kind, krs[check].checklist) == ("checklist", (2, 4))
    assert (krs[done].kind, krs[done].done) == ("milestone", True)
    assert (krs[open_ms].kind, krs[open_ms].done) == ("milestone", False)
    assert (krs[kpi].kpi, krs[kpi].weight, krs[kpi].target) == ("Churn", 2.0, 2.0)
    assert "current" in krs[kpi].written and "current" not in krs[check].written
    assert krs[bad].target is None and "Target" in krs[bad].problems[0] and "n/a" in krs[bad].problems[0]
    assert krs[bare].kind == "metric" and "no Start/Target/Current" in krs[bare].current_reason
    assert krs[kpi].where.startswith('card "Follows" on board "Kinds"')


def test_kpi_current_is_written_with_progress_in_one_call(fake):
    board = okr_board(fake, 1, 0)
    lst = next(iter(fake.lists))
    card = fake.add_card(lst, "Follows", fields={"KPI": "Churn", "Start": 10, "Target": 20, "Current": 11})
    source = open_trello(fake, board)
    source.read()
    errors = source.write([Patch("board", card, "progress", None, 0.5, card, "key_result"),
                           Patch("board", card, "current", 11.0, 15.0, card, "key_result")])  # fmt: skip
    assert errors == [] and fake.calls["PUT card customFields"] == 1
    assert (fake.value(card, "Progress"), fake.value(card, "Current")) == ("0.5", "15")
    body = fake.log[-1].json()
    assert all(isinstance(i["value"]["number"], str) for i in body["customFieldItems"])


def test_archived_lists_and_cards_are_ignored(fake):
    board = okr_board(fake, 1, 2)
    old = fake.add_list(board, "Last year", closed=True)
    fake.add_card(old, "Old KR")
    fake.add_card(next(iter(fake.lists)), "Archived KR", closed=True)
    result = open_trello(fake, board).read()
    assert [o.title for o in result.objectives] == ["Objective 1"]
    assert sorted(kr.title for kr in _krs(result)) == ["KR 1.1", "KR 1.2"]


def test_objectives_cycle_and_objective_cards(fake):
    board = okr_board(fake, 1, 1)
    bare = fake.add_list(board, "No card")
    fake.add_card(bare, "KR", fields={"Start": 0, "Target": 1, "Current": 0})
    twice = fake.add_list(board, "Two heads")
    objective = next(i for i, lb in fake.labels.items() if lb["name"] == "Objective")
    fake.add_card(twice, "Head A", labels=[objective])
    fake.add_card(twice, "Head B", labels=[objective])
    result = open_trello(fake, board, cycle="2026-H2").read()
    by_title = {o.title: o for o in result.objectives}
    assert by_title["Objective 1"].cycle == "2026-Q4"  # the card's Cycle field wins
    assert by_title["No card"].cycle == "2026-H2" and by_title["No card"].written == {}
    assert by_title["No card"].id == bare and by_title["No card"].key_results[0].objective == bare
    assert (
        by_title["Two heads"].key_results == []
        and "2 cards carry the label Objective" in by_title["Two heads"].problems[0]
    )


def test_configured_names_are_matched_case_insensitively(fake):
    board = fake.add_board("Custom")
    fake.add_label(board, "Ziel", "purple")
    green = fake.add_label(board, "grün", "green")
    for text in ("gelb", "rot", "fertig"):
        fake.add_label(board, text, "red")
    for f in ("Anfang", "Ziel-Wert", "Ist", "Fortschritt"):
        fake.add_field(board, f)
    lst = fake.add_list(board, "Wachsen")
    card = fake.add_card(
        lst, "KR", labels=[green], fields={"Anfang": 0, "Ziel-Wert": 10, "Ist": 9, "Fortschritt": "0.9"}
    )
    names = {"objective": "ziel", "on_track": "GRÜN", "at_risk": "Gelb", "off_track": "Rot", "done": "Fertig",
             "start": "anfang", "target": "ziel-wert", "current": "IST", "progress": "fortschritt"}  # fmt: skip
    result = open_trello(fake, board, fields=names, cycle="2026-Q4").read()
    kr = _krs(result)[0]
    assert (kr.start, kr.target, kr.current) == (0, 10, 9)
    assert kr.written == {"status": "On track", "progress": 0.9}
    assert result.notes == [] and card == kr.id


def test_unknown_field_name_fails_with_the_key(fake):
    board = okr_board(fake, 1, 1)
    with pytest.raises(SourceError, match=r"fields\.progres: unknown model field"):
        open_trello(fake, board, fields={"progres": "Progress"}).read()


def test_board_by_url_and_short_link(fake):
    board = okr_board(fake, 1, 1)
    url = fake.boards[board]["url"]
    assert len(open_trello(fake, url).read().objectives) == 1
    assert len(open_trello(fake, fake.boards[board]["shortLink"]).read().objectives) == 1


def test_cards_past_the_1000_cap_are_paged(fake):
    board = okr_board(fake, 5, 2400)
    source = open_trello(fake, board)
    result = source.read()
    ids = [kr.id for kr in _krs(result)]
    assert len(ids) == 2400 and len(set(ids)) == 2400
    # 1 board call, then pages of 1,000 cards (2,405 with the objective cards): 1000, 1000, 405
    assert fake.calls["GET board"] == 1 and fake.calls["GET board cards"] == 3 and source.calls["read"] == 4


def test_more_than_50_labels_are_all_read(fake):
    board = fake.add_board("Labels")
    for i in range(60):
        fake.add_label(board, f"Team {i}", "sky")
    okr = fake.add_label(board, "On track")  # the 61st label
    fake.add_field(board, "Progress")
    lst = fake.add_list(board, "O")
    fake.add_card(lst, "KR", labels=[okr], checklists=[[("a", True)]])
    result = open_trello(fake, board, create_missing=False).read()
    assert _krs(result)[0].written["status"] == "On track"


# --- failures -------------------------------------------------------------------------------


def test_a_429_storm_5xx_and_dropped_connections_are_ridden_out(fake):
    board = okr_board(fake, 2, 20)
    fake.storm(4)
    source = open_trello(fake, board)
    result = source.read()
    fake.fail_next(2, 503)
    fake.drop_next(1)
    fake.storm(3)
    errors = source.write(patches_for(source, result))
    assert errors == [] and fake.responses_429 == 7
    fake.reset_counts()
    _, patches, _ = sync_once(open_trello(fake, board))
    assert patches == []


def test_paced_under_a_server_enforcing_token_and_key_limits(fake):
    """Scaled-down limits (the real 100/10 s is measured in bench/): no 429 at all."""
    fake.rate_limit = TrelloRateLimit(per_token=40, per_key=120, period=0.5)
    board = okr_board(fake, 2, 30)
    # Paced at 75% of the server's limit (30 per 0.5 s): a busy test machine can delay a
    # request and bunch the next ones, and the margin absorbs that.
    limits = {"trello_per_10s": 600, "trello_key_per_10s": 1800}
    _, patches, errors = sync_once(open_trello(fake, board, limits=limits))
    assert errors == [] and len(patches) > 30
    assert fake.responses_429 == 0
    assert max(v for k, v in fake.rate_limit.peak.items() if k.startswith("token:")) <= 40


def test_token_limit_429_is_trellos_json_and_retried(fake):
    fake.rate_limit = TrelloRateLimit(per_token=3, per_key=100, period=0.3)
    board = okr_board(fake, 1, 6)
    _, patches, errors = sync_once(open_trello(fake, board))  # pacer far above the server's limit
    assert errors == [] and fake.responses_429 > 0
    assert fake.value(_card(fake, "KR 1.2")["id"], "Progress") == "0.37"


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"TRELLO_API_KEY": "test-key", "TRELLO_TOKEN": "wrong-token-123"}, "check TRELLO_TOKEN"),
        ({"TRELLO_API_KEY": "wrong-key-456", "TRELLO_TOKEN": "test-token"}, "check TRELLO_API_KEY"),
        ({"TRELLO_API_KEY": "test-key"}, "TRELLO_TOKEN is not set"),
        ({"TRELLO_TOKEN": "test-token"}, "TRELLO_API_KEY is not set"),
    ],
)
def test_bad_credentials_fail_the_source_naming_the_variable(fake, env, needle):
    board = okr_board(fake, 1, 1)
    with pytest.raises(SourceError) as e:
        open_trello(fake, board, env=env).read()
    assert needle in str(e.value) and "401" in str(e.value) or "not set" in str(e.value)
    for secret in env.values():
        assert secret not in str(e.value)


def test_other_variable_names(fake):
    board = okr_board(fake, 1, 1)
    env = {"OKR_KEY": fake.key, "OKR_TOKEN": "nope"}
    with pytest.raises(SourceError, match="check OKR_TOKEN"):
        open_trello(fake, board, env=env, key_env="OKR_KEY", token_env="OKR_TOKEN").read()
    env["OKR_TOKEN"] = fake.token
    assert open_trello(fake, board, env=env, key_env="OKR_KEY", token_env="OKR_TOKEN").read().objectives


def test_the_token_travels_in_the_oauth_header_only(fake):
    board = okr_board(fake, 1, 2)
    sync_once(open_trello(fake, board))
    for request in fake.log:
        assert (
            "test-token" not in request.raw_path and "token" not in request.query and b"test-token" not in request.body
        )
        assert request.headers["authorization"] == 'OAuth oauth_consumer_key="test-key", oauth_token="test-token"'


def test_unknown_board_and_malformed_answer(fake):
    okr_board(fake, 1, 1)
    with pytest.raises(SourceError, match=r'board "5e0000ff0000000000000fff" was not found \(404'):
        open_trello(fake, "5e0000ff0000000000000fff").read()
    with pytest.raises(SourceError, match="not a Trello board id"):
        open_trello(fake, "not a board!").read()
    board = next(iter(fake.boards))
    fake.malformed_next(1)
    with pytest.raises(SourceError, match="not JSON"):
        open_trello(fake, board).read()


def test_a_refused_card_fails_only_its_items(fake):
    board = okr_board(fake, 1, 3)
    source = open_trello(fake, board)
    result = source.read()
    gone = _card(fake, "KR 1.2")["id"]
    del fake.cards[gone]
    errors = source.write(patches_for(source, result))
    assert {e.item for e in errors} == {gone} and "404" in errors[0].message
    assert fake.value(_card(fake, "KR 1.3")["id"], "Progress") is not None


def test_token_revoked_between_read_and_write_fails_the_writes(fake):
    board = okr_board(fake, 1, 3)
    source = open_trello(fake, board)
    result = source.read()
    fake.tokens = {"another-token": fake.key}  # ours was revoked
    with pytest.raises(SourceError, match="check TRELLO_TOKEN"):
        source.write(patches_for(source, result))
    assert "PUT card customFields" in fake.calls and fake.calls["PUT card customFields"] <= source.workers


def test_two_boards_on_one_token_share_the_pacers(fake):
    a, b = okr_board(fake, 1, 1), okr_board(fake, 1, 1, name="Other")
    runtime = Runtime()  # what the CLI or the daemon builds once and hands to every source
    sa, sb = open_trello(fake, a, runtime=runtime), open_trello(fake, b, name="other", runtime=runtime)
    sa.read(), sb.read()
    pa, pb = sa._http.pacer.pacers, sb._http.pacer.pacers
    assert pa[0] is pb[0] and pa[1] is pb[1] and pa[0] is not pa[1]


def test_check_reaches_the_board(fake):
    board = okr_board(fake, 1, 1, labels=False, fields=False)
    assert open_trello(fake, board).check() == []
    problems = open_trello(fake, board, create_missing=False).check()
    assert any('"Progress" is missing' in p for p in problems) and any('label "Done"' in p for p in problems)
    assert (
        "check TRELLO_TOKEN"
        in open_trello(fake, board, env={"TRELLO_API_KEY": "test-key", "TRELLO_TOKEN": "x"}).check()[0]
    )


def test_a_label_added_meanwhile_is_not_an_error(fake):
    board = okr_board(fake, 1, 2)
    source = open_trello(fake, board)
    result = source.read()
    patches = patches_for(source, result)
    for p in patches:  # a person sets the same labels between our read and write
        if p.field == "status":
            label = next(i for i, lb in fake.labels.items() if lb["name"] == p.new)
            fake.cards[p.ref]["idLabels"].append(label)
    assert source.write(patches) == []


def test_5xx_past_the_retries_fails_the_source_clearly(fake):
    board = okr_board(fake, 1, 1)
    fake.fail_next(10, 500)
    with pytest.raises(SourceError, match=r"Trello answered 500 .* gave up after 6 attempts"):
        open_trello(fake, board).read()
