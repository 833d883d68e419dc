"""The Sheets fake itself, driven by a real gspread client (its own HTTPClient,
its own AuthorizedSession, a token fetched from the fake's token_uri): what
gspread users rely on must work against it as against Google."""

from __future__ import annotations

from typing import Any

import gspread
import pytest
from requests.adapters import HTTPAdapter

from syncd.connectors.sheets.source import SCOPES, _ProxiedCredentials
from tests.fakes.server import RateLimit
from tests.fakes.sheets import FakeSheets


class _Redirect(HTTPAdapter):
    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def send(self, request: Any, **kw: Any) -> Any:
        request.url = request.url.replace("https://sheets.googleapis.com", self.base)
        return super().send(request, **kw)


@pytest.fixture
def fake() -> Any:
    with FakeSheets() as f:
        yield f


@pytest.fixture
def gc(fake: FakeSheets) -> gspread.Client:
    creds = _ProxiedCredentials.from_service_account_info(fake.service_account(), scopes=SCOPES)
    client = gspread.Client(auth=creds)
    client.http_client.session.mount("https://sheets.googleapis.com", _Redirect(fake.url))
    return client


def test_open_read_write_format_with_plain_gspread(fake: FakeSheets, gc: gspread.Client) -> None:
    fake.add_spreadsheet("k1", {"Q4 KPIs": [["KPI", "Value"], ["Uptime", "99.6%"], [], ["Churn", "2"]]})
    sh = gc.open_by_key("k1")
    ws = sh.worksheet("Q4 KPIs")
    assert ws.get_all_values() == [["KPI", "Value"], ["Uptime", "99.6%"], ["", ""], ["Churn", "2"]]
    assert ws.get("B2", value_render_option="UNFORMATTED_VALUE") == [[0.996]]
    ws.update([["Green"]], "C2")
    ws.batch_update([{"range": "C4", "values": [["Red"]]}])
    ws.format("C2", {"backgroundColor": {"red": 0.7, "green": 0.9, "blue": 0.8}})
    assert fake.shown("k1", "'Q4 KPIs'!C2") == "Green" and fake.shown("k1", "'Q4 KPIs'!C4") == "Red"
    assert fake.cell("k1", "'Q4 KPIs'!C2").format["backgroundColor"]["green"] == 0.9
    # the quoted, percent-encoded range arrived decoded
    assert any(r.path.endswith("/values/'Q4 KPIs'!C2") and "%27Q4%20KPIs%27" in r.raw_path for r in fake.log)
    assert fake.calls["spreadsheets.get"] == 2  # open_by_key + worksheet(): why syncd never uses worksheet()


def test_batch_get_trims_like_google(fake: FakeSheets, gc: gspread.Client) -> None:
    fake.add_spreadsheet("k1", {"S": [["a", "", "c", ""], [], ["", ""], ["x"]]}, rows=10, cols=5)
    sh = gc.open_by_key("k1")
    got = sh.values_batch_get(["S!A1:E10", "'S'!B2:C3", "S"])["valueRanges"]
    assert got[0] == {"range": "S!A1:E10", "majorDimension": "ROWS", "values": [["a", "", "c"], [], [], ["x"]]}
    assert got[1] == {"range": "S!B2:C3", "majorDimension": "ROWS"}  # an empty range has no values key
    assert got[2]["range"] == "S!A1:E10"


def test_render_options_and_locale(fake: FakeSheets, gc: gspread.Client) -> None:
    fake.add_spreadsheet("de", {"Blatt": [["1.234,5", "85%", "2026-11-01", "=4/2", "text"]]}, locale="de_DE")
    sh = gc.open_by_key("de")
    assert sh.locale == "de_DE"
    formatted = sh.values_get("Blatt")["values"][0]
    unformatted = sh.values_get("Blatt", params={"valueRenderOption": "UNFORMATTED_VALUE"})["values"][0]
    formulas = sh.values_get("Blatt", params={"valueRenderOption": "FORMULA"})["values"][0]
    assert formatted == ["1.234,5", "85%", "2026-11-01", "2", "text"]
    assert unformatted == [1234.5, 0.85, 46327, 2, "text"]
    assert formulas[3] == "=4/2"


def test_errors_have_googles_shape(fake: FakeSheets, gc: gspread.Client) -> None:
    with pytest.raises(gspread.SpreadsheetNotFound):
        gc.open_by_key("nope")
    fake.add_spreadsheet("locked", private=True)
    with pytest.raises(PermissionError):
        gc.open_by_key("locked")
    fake.add_spreadsheet("k1", {"S": [["a"]]}, rows=5, cols=2)
    sh = gc.open_by_key("k1")
    with pytest.raises(gspread.exceptions.APIError) as e:
        sh.values_update("S!C1", params={"valueInputOption": "RAW"}, body={"values": [["x"]]})
    assert e.value.code == 400 and "exceeds grid limits" in e.value.error["message"]
    assert e.value.error["status"] == "INVALID_ARGUMENT"


def test_rate_limit_answers_429_like_google(fake: FakeSheets, gc: gspread.Client) -> None:
    fake.add_spreadsheet("k1")
    fake.rate_limit = RateLimit(2, 60)
    gc.open_by_key("k1")
    gc.http_client.fetch_sheet_metadata("k1")
    with pytest.raises(gspread.exceptions.APIError) as e:
        gc.http_client.fetch_sheet_metadata("k1")
    assert e.value.code == 429 and e.value.error["status"] == "RESOURCE_EXHAUSTED"
    assert e.value.error["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert fake.responses_429 == 1 and fake.rate_limit.peak["syncd-test@example.iam.gserviceaccount.com"] == 2


def test_an_html_429_is_what_gspread_cannot_read(fake: FakeSheets, gc: gspread.Client) -> None:
    fake.add_spreadsheet("k1")
    fake.html_429 = True
    fake.storm(1)
    with pytest.raises(gspread.exceptions.APIError) as e:
        gc.open_by_key("k1")
    assert e.value.code == -1 and e.value.response.status_code == 429  # why syncd reads the HTTP status


def test_requests_without_a_token_are_refused(fake: FakeSheets) -> None:
    import requests

    fake.add_spreadsheet("k1")
    r = requests.get(fake.url + "/v4/spreadsheets/k1", timeout=5)
    assert r.status_code == 401 and r.json()["error"]["status"] == "UNAUTHENTICATED"


def test_merges_and_colours_through_spreadsheets_batch_update(fake: FakeSheets, gc: gspread.Client) -> None:
    fake.add_spreadsheet("k1", {"S": [["Name", "x"], ["", "y"]]}, rows=4, cols=2)
    sh = gc.open_by_key("k1")
    sh.batch_update(
        {
            "requests": [
                {
                    "mergeCells": {
                        "mergeType": "MERGE_ALL",
                        "range": {
                            "sheetId": 0,
                            "startRowIndex": 0,
                            "endRowIndex": 2,
                            "startColumnIndex": 0,
                            "endColumnIndex": 1,
                        },
                    }
                },
                {"appendDimension": {"sheetId": 0, "dimension": "COLUMNS", "length": 3}},
            ]
        }
    )
    meta = gc.http_client.fetch_sheet_metadata("k1")
    assert meta["sheets"][0]["merges"] == [
        {"startRowIndex": 0, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 1}
    ]
    assert meta["sheets"][0]["properties"]["gridProperties"] == {"rowCount": 4, "columnCount": 5}
