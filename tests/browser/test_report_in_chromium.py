"""results/report.html in Chromium: opened from a file:// URL, the students table sorts, a name
that is HTML stays text, the page fetches nothing. The screenshot is kept under the test's tmp
folder (its path is printed: run with -s to see it).

Needs only the session's Chromium (tests/browser/conftest.py), not the JupyterLab server.
"""

import sys
from pathlib import Path

import pytest

from course_utils.grade.command import report

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "grading"))
from class_fixture import HOSTILE, build_class  # noqa: E402

pytestmark = pytest.mark.browser

NAMES = "#students tbody tr td:first-child"


@pytest.fixture
def report_page(browser, tmp_path):
    """The report of the fixture class, opened in a fresh context that may fetch nothing."""
    path = report.write_report(build_class(), tmp_path)
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    fetched, dialogs = [], []

    def nothing_but_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            fetched.append(route.request.url)
            route.abort()

    context.route("**/*", nothing_but_files)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(path.as_uri())
    yield page, fetched, dialogs, tmp_path
    context.close()


def names(page):
    return page.locator(NAMES).all_inner_texts()


def sort_by(page, column):
    header = page.locator("#students thead th", has_text=column)
    header.click()
    return header.get_attribute("aria-sort")


def test_report_table_sorts_and_student_text_stays_text(report_page):
    page, fetched, dialogs, folder = report_page
    assert names(page) == sorted(names(page)) == [HOSTILE, "ada", "ben", "cleo", "dan", "eve"]

    assert sort_by(page, "total") == "ascending"      # totals: 2, 6, 4, 0, 4, 0
    assert names(page) == ["cleo", "eve", HOSTILE, "ben", "dan", "ada"]
    assert sort_by(page, "total") == "descending"
    assert names(page) == ["ada", "ben", "dan", HOSTILE, "cleo", "eve"]
    assert sort_by(page, "04_ordereddict") == "ascending"  # not submitted sorts lowest
    assert names(page)[:2] == [HOSTILE, "cleo"] and names(page)[-3:] == ["ada", "ben", "dan"]
    assert page.locator('#students th[aria-sort]').count() == 1

    assert page.evaluate("document.querySelectorAll('script').length") == 1
    assert page.locator("#histogram svg").count() == 1
    assert "6 students · mean 2.67 · median 3 of 6 points" in page.locator("#summary").inner_text()
    assert dialogs == [] and fetched == []

    screenshot = folder / "report-sorted.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"\nscreenshot of the sorted report: {screenshot}")
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
