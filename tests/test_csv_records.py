"""CSV records keep the position of every field, so an edit touches only its own bytes."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.connectors.local._csv import parse_records, render_field

cells = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
rows = st.lists(st.lists(cells, min_size=1, max_size=5), min_size=1, max_size=6)


def _dump(table: list[list[str]], newline: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=newline).writerows(table)
    return out.getvalue()


@settings(max_examples=200, database=None)
@given(rows, st.sampled_from(["\n", "\r\n"]))
def test_values_match_the_csv_module(table, newline):
    text = _dump(table, newline)
    expected = list(csv.reader(io.StringIO(text, newline="")))
    assert [r.values for r in parse_records(text)] == expected


@settings(max_examples=200, database=None)
@given(rows, st.sampled_from(["\n", "\r\n"]), st.data())
def test_replacing_one_field_changes_only_that_field(table, newline, data):
    text = _dump(table, newline)
    records = parse_records(text)
    r = data.draw(st.integers(0, len(records) - 1))
    if not records[r].spans:
        return
    c = data.draw(st.integers(0, len(records[r].spans) - 1))
    new_value = data.draw(cells)
    if new_value == "" and len(records[r].spans) == 1:
        return  # an empty one-field record is a blank line in any CSV reader
    start, end = records[r].spans[c]
    edited = text[:start] + render_field(new_value) + text[end:]
    before = list(csv.reader(io.StringIO(text, newline="")))
    after = list(csv.reader(io.StringIO(edited, newline="")))
    if before[r] == []:  # csv gives [] for a blank line; the edit gives it one field
        before[r] = [""]
    before[r][c] = new_value
    assert after == before
    # Every byte outside the field is the same.
    assert edited[:start] == text[:start] and edited[start + len(render_field(new_value)) :] == text[end:]
