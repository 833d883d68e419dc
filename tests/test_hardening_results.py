"""Issue 11: wrong results and messages without a place.

``((5))`` is never +5; a bad Weight or Type says so (and where); duplicate ids warn
``duplicate_id``; Notion, Trello and checklist reasons name the property, page, card,
row and column.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncd.parsing import parse_number
from tests.test_spec_acceptance import TEN_DAYS_HALF, dry, kpi_row, kr_row, krs, objectives, project, warnings


@pytest.mark.parametrize(
    ("text", "value"),
    [("((5))", None), ("(((5)))", None), ("-(5)", None), ("(-5)", None), ("((5%))", None), ("((5)", None),
     ("(5))", None), ("(5)", -5.0), ("$(1,234)", -1234.0), ("($1,234.50)", -1234.5), ("−5", -5.0)],
)  # fmt: skip
def test_nested_or_doubled_negatives_are_no_value(text, value):
    assert parse_number(text).value == value


@given(st.floats(min_value=0.001, max_value=1e9, allow_nan=False), st.integers(min_value=2, max_value=5))
def test_a_positive_number_in_nested_parentheses_is_never_positive(x, depth):
    text = "(" * depth + f"{x:.3f}" + ")" * depth
    value = parse_number(text).value
    assert value is None or value < 0


@pytest.mark.parametrize("weight", ["-1", "abc", "NaN", "inf", "1e309", "0"])
def test_a_bad_weight_marks_the_key_result_invalid_naming_its_cell(tmp_path, syncd, weight):
    cfg = project(
        tmp_path,
        okrs=[
            kr_row("Grow", "Raise NPS", Start="0", Target="10", Current="5", Weight=weight),
            kr_row("Grow", "Cut churn", Start="0", Target="10", Current="5", Weight="2"),
        ],
    )
    out = dry(syncd, cfg, TEN_DAYS_HALF)
    kr = krs(out)["Raise NPS"]
    assert kr["status"] == "invalid"
    assert f"weight {weight!r} at okrs.csv row 2, column I is not a positive number" in kr["reason"]
    assert krs(out)["Cut churn"]["status"] == "on_track"  # the good row beside it is unchanged


def test_zero_weight_on_every_key_result_is_reported_not_replaced(tmp_path, syncd):
    cfg = project(
        tmp_path, okrs=[kr_row("Grow", f"KR {i}", Start="0", Target="10", Current="5", Weight="0") for i in range(3)]
    )
    out = dry(syncd, cfg, TEN_DAYS_HALF)
    assert all(kr["status"] == "invalid" and "column I" in kr["reason"] for kr in krs(out).values())


@pytest.mark.parametrize("kind", ["stretch", "5"])
def test_a_bad_type_gets_a_message_naming_its_cell(tmp_path, syncd, kind):
    cfg = project(tmp_path, okrs=[kr_row("Grow", "Raise NPS", Start="0", Target="10", Current="5", Type=kind)])
    out = dry(syncd, cfg, TEN_DAYS_HALF)
    (w,) = [w for w in out["warnings"] if "Type" in w["message"]]
    assert w["code"] == "unreadable_item"
    assert f"Type {kind!r} at okrs.csv row 2, column L is not aspirational or committed" in w["message"]
    assert objectives(out)["Grow"]["status"] == "on_track"  # judged with the default type


def test_duplicate_ids_and_kpi_names_warn_duplicate_id(tmp_path, syncd):
    cfg = project(
        tmp_path,
        kpis=[kpi_row("NPS", "95"), kpi_row("NPS", "85"), kpi_row("Churn", "1", ID="k1"), kpi_row("CSAT", "1", ID="k1"),
              kpi_row("Uptime", "99", ID="u1"), kpi_row("Uptime", "98", ID="u2"), kpi_row("Fine", "99")],
        okrs=[kr_row("Grow", "Raise NPS", ID="kr", Start="0", Target="10", Current="5"),
              kr_row("Grow", "Cut churn", ID="kr", Start="0", Target="10", Current="5")],
    )  # fmt: skip
    found = {w["item"]: w["message"] for w in warnings(dry(syncd, cfg, TEN_DAYS_HALF), "duplicate_id")}
    assert set(found) == {"kpis:NPS", "k1", "Uptime", "kr"}
    assert (
        "2 items share the KPI id 'kpis:NPS' (kpis.csv row 2, column A, kpis.csv row 3, column A)" in found["kpis:NPS"]
    )
    assert "KPI name 'Uptime'" in found["Uptime"] and "key result id 'kr'" in found["kr"]


def test_an_empty_checklist_names_its_row_and_column(tmp_path, syncd):
    cfg = project(tmp_path, okrs=[kr_row("Grow", "Ship tasks", Kind="checklist", Current="0/0")])
    kr = krs(dry(syncd, cfg, TEN_DAYS_HALF))["Ship tasks"]
    assert kr["status"] == "no_data"
    assert kr["reason"].startswith("okrs.csv row 2, column G: '0/0' is a checklist with no items")


def test_notion_reasons_name_the_property_and_the_page():
    from syncd.mappings.notion import Prop, build_kpis, build_okrs

    url = "https://www.notion.so/Page-0123456789abcdef0123456789abcdef"
    props = {
        f: Prop(field=f, id=f[:3], name=f.title(), type="number")
        for f in ("value", "start", "target", "current", "weight")
    }
    (kpi,) = build_kpis([{"id": "p1", "url": url, "ref": "p1", "v": {"name": "NPS", "value": "abc"}}], props, "n")
    assert kpi.value_reason == f"property 'Value' of page {url}: not a number: 'abc'"
    objs, _ = build_okrs(
        [{"id": "o1", "url": url + "1", "ref": "o1", "v": {"title": "Grow"}}],
        [{"id": "k1", "url": url, "ref": "k1", "v": {"title": "KR", "objective": ["o1"], "start": "x", "target": 10,
                                                      "current": ""}}],
        props, props, "n",
    )  # fmt: skip
    kr = objs[0].key_results[0]
    assert kr.problems == [f"property 'Start' of page {url}: not a number: 'x'"]
    assert kr.current_reason == f"property 'Current' of page {url}: empty"


def test_trello_reasons_name_the_card():
    from syncd.mappings.trello import Names, build_objectives, index_board

    raw = {
        "id": "b1", "url": "https://trello.com/b/b1", "lists": [{"id": "l1", "name": "Grow", "pos": 1}],
        "cards": [{"id": "c1", "name": "KR", "idList": "l1", "pos": 1, "url": "https://trello.com/c/c1",
                   "shortUrl": "https://trello.com/c/c1", "idLabels": [], "customFieldItems": [{"idCustomField": "f1", "value": {"text": "abc"}}]}],
        "customFields": [{"id": "f1", "name": "Start", "type": "text"}], "labels": [],
    }  # fmt: skip
    objs, _ = build_objectives(index_board(raw), Names.from_config({}, 1), source="t", cycle="2026-Q4", writable={})
    kr = objs[0].key_results[0]
    assert kr.problems == [
        "card \"KR\" on board \"\" (https://trello.com/c/c1): custom field Start holds 'abc': not a number: 'abc'"
    ]
