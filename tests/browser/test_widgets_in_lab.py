"""The widgets in JupyterLab, driven in Chromium: lessons 06 and 07, an exercise, a failure.

Each lesson test runs first against a fixture notebook under tests/fixtures/browser/ that
uses the widgets the way the lesson does, then against the lesson itself (a missing lesson fails).
"""

import time
from pathlib import Path

import pytest
from lab_page import (
    WIDGET_ERROR, check_box, read_flow, read_toggles, run_all, wait_for_redraw, wait_for_state,
    wait_visible,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "browser"


def exercise_notebook():
    """The first exercise notebook (every lesson has one; ``make release`` writes them)."""
    found = sorted((REPO / "exercises").glob("*.ipynb"))
    return found[0] if found else REPO / "exercises" / "no exercise notebook"


def open_existing(open_copy, path):
    """Open a copy of ``path`` in JupyterLab; fail, never skip, when the notebook is missing."""
    if not path.exists():
        pytest.fail(f"{path.relative_to(REPO)} is missing: every lesson and exercise exists now")
    return open_copy(path)


def assert_only_local(page):
    """Nothing on the page tried to leave 127.0.0.1 (such requests are aborted and listed)."""
    assert page.blocked_requests == [], f"requests outside 127.0.0.1: {page.blocked_requests}"


TOGGLES = [FIXTURES / "toggles.ipynb", REPO / "notebooks" / "07_dynamic_growth.ipynb"]
GRADIENT_FLOW = [FIXTURES / "gradient_flow.ipynb", REPO / "notebooks" / "06_residual.ipynb"]
EXERCISE = [FIXTURES / "exercise.ipynb", exercise_notebook()]


def test_every_notebook_the_browser_tests_open_exists():
    """Runs without a browser, so a missing lesson fails even where Chromium is absent."""
    missing = [str(p.relative_to(REPO)) for p in TOGGLES + GRADIENT_FLOW + EXERCISE
               if not p.exists()]
    assert missing == []


@pytest.mark.parametrize("path", TOGGLES, ids=lambda p: p.stem)
def test_layer_toggle_redraws_graph_shape_and_parameters(path, page, open_copy, screenshot):
    open_existing(open_copy, path)
    run_all(page)
    widget = page.locator(".course-layer-toggles").first
    wait_visible(widget.locator(".course-graph"), "the layer_toggles widget")
    first = read_toggles(widget)
    box = check_box(widget)
    box.click()
    toggled = wait_for_redraw(widget, read_toggles, first)
    screenshot(page, "-toggled")
    assert toggled["shape"].startswith("output shape: (")
    assert toggled["params"].startswith("parameters used: ")
    box.click()
    wait_for_state(widget, read_toggles, first)
    screenshot(page)
    assert_only_local(page)


@pytest.mark.parametrize("path", GRADIENT_FLOW, ids=lambda p: p.stem)
def test_skip_connections_switch_redraws_the_gradient_plot(path, page, open_copy, screenshot):
    open_existing(open_copy, path)
    run_all(page)
    widget = page.locator(".course-gradient-flow").first
    wait_visible(widget.locator(".course-plot img"), "the gradient plot")
    first = read_flow(widget)
    widget.locator(".course-skip input[type=checkbox]").click()
    redrawn = wait_for_redraw(widget, read_flow, first)
    assert ("plain" in first["summary"]) != ("plain" in redrawn["summary"])
    assert "data:image/png" in redrawn["plot"]
    widget.scroll_into_view_if_needed()
    screenshot(page)
    assert_only_local(page)


@pytest.mark.parametrize("path", EXERCISE, ids=lambda p: p.stem)
def test_unsolved_exercise_check_says_not_attempted(path, page, open_copy, screenshot):
    open_existing(open_copy, path)
    run_all(page)
    feedback = page.locator(".jp-OutputArea-output .course-feedback")
    wait_visible(feedback.first, "the output of a check cell")
    texts = feedback.all_inner_texts()
    screenshot(page)
    assert texts and all("Not attempted" in t for t in texts), texts
    assert_only_local(page)


def test_a_broken_widget_callback_fails_quickly_with_its_message(page, open_copy, screenshot):
    open_copy(FIXTURES / "broken_callback.ipynb")
    run_all(page)
    widget = page.locator(".course-layer-toggles").first
    wait_visible(widget.locator(".course-graph"), "the layer_toggles widget")
    first = read_toggles(widget)
    start = time.monotonic()
    check_box(widget).click()
    with pytest.raises(AssertionError, match="callback failed: .*RuntimeError: deliberately broken"):
        wait_for_redraw(widget, read_toggles, first)
    elapsed = time.monotonic() - start
    screenshot(page)
    assert elapsed < 5, f"the failure took {elapsed:.1f} s to surface"
    assert widget.locator(WIDGET_ERROR).is_visible()
    assert "Traceback" in widget.locator(".course-graph").inner_text()


def test_requests_outside_localhost_are_aborted(page):
    # a blank page: JupyterLab's own pages also forbid such requests by their CSP
    page.set_content("<p>offline</p>")
    outcome = page.evaluate("() => fetch('https://example.org/').then(() => 'answered', () => 'failed')")
    assert outcome == "failed"
    assert page.blocked_requests == ["https://example.org/"]
