"""The Sheets fake must answer the real recorded traffic the way Google did.

Every Sheets v4 interaction in tests/recordings/sheets (recorded
by gspread's own test-suite against the real API) is replayed, in order, as
the same HTTP request against the fake, which starts from the state the
recording started from (a fresh spreadsheet, seeded from the first recorded
metadata answer). The answers must match: status, error code/status/message,
and every field of the body except theme and default-format details the fake
does not model. Drive calls are skipped: syncd never calls Drive.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.conftest import RECORDINGS
from tests.fakes.sheets import Book, FakeSheets, Sheet

CASSETTES = RECORDINGS / "sheets"
FILES = sorted(CASSETTES.glob("*.json"))
SHEETS = "https://sheets.googleapis.com"

#: Parts of Google's answers the fake leaves out on purpose (theme colours and
#: the spreadsheet's default cell format: syncd never reads them).
_NOT_MODELLED = {"spreadsheetTheme", "defaultFormat"}


def _load(path: Path) -> list[dict[str, Any]]:
    return [i for i in json.loads(path.read_text())["interactions"] if i["request"]["uri"].startswith(SHEETS)]


def _body(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _NOT_MODELLED}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _remap(value: Any, ids: dict[int, int]) -> Any:
    """Recorded sheet ids (random at Google) -> the ids the fake gave out."""
    if isinstance(value, dict):
        return {k: (ids.get(v, v) if k == "sheetId" else _remap(v, ids)) for k, v in value.items()}
    if isinstance(value, list):
        return [_remap(v, ids) for v in value]
    return value


def _seed(fake: FakeSheets, key: str, status: int, recorded: Any) -> None:
    if status == 403:
        fake.books[key] = Book(key, "private", private=True, sheets=[Sheet(0, "Sheet1")])
        return
    if status != 200 or not isinstance(recorded, dict) or "sheets" not in recorded:
        return
    props = recorded["properties"]
    book = Book(key, props["title"], props["locale"], props["timeZone"])
    for s in recorded["sheets"]:
        p = s["properties"]
        grid = p["gridProperties"]
        book.sheets.append(
            Sheet(p["sheetId"], p["title"], grid["rowCount"], grid["columnCount"], merges=list(s.get("merges", [])))
        )
    fake.books[key] = book


def _token(fake: FakeSheets) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"iss": "contract@example.iam.gserviceaccount.com"}).encode())
    r = requests.post(
        fake.url + "/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": f"e30.{claims.decode()}.sig"},
        timeout=5,
    )
    return r.json()["access_token"]


def test_cassettes_are_there() -> None:
    assert len(FILES) >= 20, f"expected the recorded cassettes in {CASSETTES}"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_fake_answers_like_the_recording(path: Path) -> None:
    interactions = _load(path)
    assert interactions
    with FakeSheets() as fake:
        token = _token(fake)
        ids: dict[int, int] = {}
        seeded: set[str] = set()
        for n, it in enumerate(interactions):
            req, rec = it["request"], it["response"]
            parts = urlsplit(req["uri"])
            key = parts.path.split("/")[3].split(":")[0]
            want_status = rec["status"]["code"]
            want = _body(rec["body"]["string"])
            if key not in seeded:
                seeded.add(key)
                _seed(fake, key, want_status, want)
            body = _body(req["body"])
            data = json.dumps(_remap(body, ids)).encode() if body is not None else None
            got = requests.request(
                req["method"],
                fake.url + parts.path + (f"?{parts.query}" if parts.query else ""),
                data=data,
                headers={"authorization": f"Bearer {token}", **({"content-type": "application/json"} if data else {})},
                timeout=5,
            )
            where = f"{path.stem} #{n}: {req['method']} {req['uri']}"
            assert got.status_code == want_status, f"{where}: {got.text}"
            answer = got.json()
            if isinstance(want, dict):
                for reply_got, reply_want in zip(answer.get("replies", []), want.get("replies", [])):
                    if "addSheet" in reply_want:  # Google picks random sheet ids; map them
                        ids[reply_want["addSheet"]["properties"]["sheetId"]] = reply_got["addSheet"]["properties"][
                            "sheetId"
                        ]
            assert _strip(answer) == _strip(_remap(want, ids)), where


def test_recorded_requests_use_the_routes_the_fake_counts() -> None:
    """Every Sheets endpoint gspread used in the recordings is one the fake routes (not 'unknown')."""
    with FakeSheets() as fake:
        token = _token(fake)
        for path in FILES:
            for it in _load(path):
                parts = urlsplit(it["request"]["uri"])
                requests.request(
                    it["request"]["method"],
                    fake.url + parts.path + (f"?{parts.query}" if parts.query else ""),
                    headers={"authorization": f"Bearer {token}"},
                    timeout=5,
                )
        assert not [name for name in fake.calls if name.startswith("unknown")], fake.calls
