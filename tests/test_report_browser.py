"""The report in a real browser: Debian's chromium, headless, driven by Playwright.

At 1280x800 and 390x844: nothing overflows horizontally, every status word is
visible text, and the page makes no network request. Screenshots are saved
under ``tests/artifacts/`` (ignored by git) for people to look at.

Chromium comes from apt (``.ci/run`` installs it); Playwright never downloads
a browser. Without ``/usr/bin/chromium`` these tests skip, except in CI
(``CI=true``), where they fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.report_helpers import NOW, add_team_okrs, seed_history
from tests.test_daemon import daemons  # noqa: F401 - a fixture

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("SYNCD_TEST_ARTIFACTS", Path(__file__).parent / "artifacts"))
SIZES = [(1280, 800), (390, 844)]
WORDS = {"Green", "Amber", "Red", "No data", "Invalid", "Not started", "On track", "At risk", "Off track", "Done"}


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[test]'"
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    why = _missing()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {why}")
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    from syncd.cli import main
    from tests.conftest import DEMO

    folder = tmp_path_factory.mktemp("demo")
    shutil.copytree(DEMO / "examples", folder / "examples")
    shutil.copy(DEMO / "syncd.toml", folder / "syncd.toml")
    seed_history(folder / "syncd.toml")
    add_team_okrs(folder / "syncd.toml")  # a tree along parent, across two sources and two cycles
    out = folder / "syncd-report.html"
    assert main(["report", "--config", str(folder / "syncd.toml"), "--now", NOW, "--output", str(out)]) == 0
    return out


def _open(browser, url: str, width: int, height: int):
    page = browser.new_page()
    page.set_viewport_size({"width": width, "height": height})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    return page, requests


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_page_fits_shows_its_status_words_and_loads_nothing(browser, report_file, width, height):
    url = report_file.as_uri()
    page, requests = _open(browser, url, width, height)
    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-{width}x{height}.png"), full_page=True)
        assert requests == [url]  # the file itself, nothing else
        overflow = page.evaluate(
            """() => {
                const w = document.documentElement.clientWidth;
                const wide = [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > w + 0.5)
                    .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40));
                return {scroll: document.documentElement.scrollWidth, width: w, wide: wide.slice(0, 5)};
            }"""
        )
        assert overflow["scroll"] <= overflow["width"], overflow
        assert overflow["wide"] == [], overflow
        # Every item with a status shows it as a word, visible and inside the screen's width.
        items = page.locator("[data-status]")
        count = items.count()
        assert count == 16 + 6 + 12  # KPIs, objectives, key results
        for i in range(count):
            item = items.nth(i)
            status = item.get_attribute("data-status")
            word = item.locator(":scope > .status, :scope > * > .status, :scope > * > * > .status").first
            assert word.is_visible(), status
            text = word.inner_text().strip()
            assert text in WORDS and text.lower().replace(" ", "_") == status, (status, text)
            box = word.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, (status, box)
        # The tiles and the page's parts are there to see.
        assert page.locator("[data-kpi-id] svg").count() >= 4
        assert page.get_by_role("heading", name="Warnings").is_visible()
    finally:
        page.close()


_CONTRAST = """() => {
    const rgb = s => s.match(/[\\d.]+/g).map(Number);
    const lum = c => {
        const [r, g, b] = c.slice(0, 3).map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const background = e => {
        for (; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length < 4 || c[3] > 0) return c;
        }
        return [255, 255, 255];
    };
    const low = [];
    for (const e of document.querySelectorAll('body *')) {
        const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || !e.getClientRects().length) continue;
        const fg = lum(rgb(getComputedStyle(e).color)), bg = lum(background(e));
        const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
        if (ratio < 4.5) low.push(e.tagName + '.' + e.className + ' ' + ratio.toFixed(2) + ': ' + e.textContent.trim().slice(0, 30));
    }
    return low;
}"""


def test_every_text_on_the_page_passes_wcag_aa_contrast(browser, report_file):
    page, _ = _open(browser, report_file.as_uri(), 1280, 800)
    try:
        assert page.evaluate(_CONTRAST) == []  # 4.5:1 for normal text, every word on its own background
    finally:
        page.close()


def test_the_page_printed_in_black_and_white_keeps_its_words(browser, report_file):
    page, requests = _open(browser, report_file.as_uri(), 1280, 800)
    try:
        page.emulate_media(media="print")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-print.png"), full_page=True)
        colours = page.evaluate("() => [...document.querySelectorAll('.status')].map(e => getComputedStyle(e).color)")
        assert colours and set(colours) == {"rgb(0, 0, 0)"}  # black words on white, whatever the status
        assert page.locator(".status").first.is_visible()
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF") and len(requests) == 1
    finally:
        page.close()


def test_the_page_served_by_syncd_run_loads_nothing_under_its_csp(browser, tmp_path, daemons):
    from tests.test_daemon import _config as daemon_config

    d = daemons(daemon_config(tmp_path, interval="1h"))
    d.wait_passes("company-kpis", 1, timeout=20)
    d.wait_passes("company-okrs", 1, timeout=20)
    url = d.url + "/"
    for width, height in SIZES:
        page, requests = _open(browser, url, width, height)
        try:
            page.screenshot(path=str(ARTIFACTS / f"served-{width}x{height}.png"), full_page=True)
            assert requests == [url]
            assert page.locator("[data-kpi-id]").count() == 16
            assert page.locator("[data-objective-id]").count() == 3
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            page.close()
    assert d.stop()[0] == 0
