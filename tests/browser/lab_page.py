"""Driving a notebook in JupyterLab with Playwright: open, run all, read and toggle widgets.

Every wait has a short deadline and every failure says what the page showed, so a broken
widget fails a test in seconds with its own error message rather than a bare timeout.
"""

import re
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeout

KERNEL_IDLE = re.compile(r"\|\s*Idle")
WIDGET_ERROR = ".course-widget-error"

# One JS call reads the state of all code cells: their prompts and any error output.
_CELLS_JS = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-CodeCell')).map(c => ({
    prompt: (c.querySelector('.jp-InputPrompt') || {}).textContent || '',
    error: Array.from(c.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
        .map(e => e.textContent).join('\\n'),
}))"""


def kernel_status(page):
    return page.locator("#jp-main-statusbar").inner_text(timeout=2000)


def open_notebook(page, lab, name, workspace, timeout_s=30):
    """Open ``name`` (already copied into the server's root) and wait for an idle kernel."""
    page.goto(lab.url(name, workspace))
    page.locator(".jp-NotebookPanel .jp-Notebook").first.wait_for(timeout=timeout_s * 1000)
    page.locator("#jp-main-statusbar").get_by_text(KERNEL_IDLE).wait_for(timeout=timeout_s * 1000)


def run_all(page, timeout_s=60, settle_s=10.0):
    """Run all cells and wait until each code cell shows its execution count.

    JupyterLab runs the cells one after another, so for an instant between two cells none
    is running and the kernel is idle. Only when that lasts ``settle_s`` with cells left
    unrun has the run stopped (a cell raised): the test then fails with the error text.
    That instant lasted over 2 s once, on a fresh-clone CI run at a load average of 18 (after
    a cell tagged ``raises-exception``); a run that really stopped only fails later.
    """
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    deadline = time.monotonic() + timeout_s
    started = False
    progress, still_since = None, time.monotonic()
    while time.monotonic() < deadline:
        cells = page.evaluate(_CELLS_JS)
        prompts = [c["prompt"] for c in cells]
        running = any("*" in p for p in prompts)
        executed = [bool(re.search(r"\[\d+\]", p)) for p in prompts]
        started = started or running or any(executed)
        if started and all(executed) and not running:
            return cells
        now = time.monotonic()
        if (running, executed) != progress:
            progress, still_since = (running, executed), now
        elif started and not running and now - still_since > settle_s \
                and KERNEL_IDLE.search(kernel_status(page)):
            unrun = executed.index(False)
            errors = [f"cell {i}: {c['error'][-800:]}" for i, c in enumerate(cells) if c["error"]]
            raise AssertionError(f"Run All stopped before code cell {unrun}: "
                                 + ("\n".join(errors) or "(no error output found)"))
        time.sleep(0.1)
    raise AssertionError(f"Run All did not finish in {timeout_s} s; prompts: {prompts}")


def check_box(widget, index=0):
    """The ``index``-th checkbox input inside a widget."""
    return widget.locator(".widget-checkbox input[type=checkbox]").nth(index)


_PICTURE_JS = """function picture(el) {
    return el.textContent + '|' + Array.from(el.querySelectorAll('img')).map(i => i.src).join('|');
}"""
_TOGGLE_JS = "w => { " + _PICTURE_JS + """
    return {shape: w.querySelector('.course-shape').textContent,
            params: w.querySelector('.course-params').textContent,
            graph: picture(w.querySelector('.course-graph'))}; }"""
_FLOW_JS = "w => { " + _PICTURE_JS + """
    return {summary: w.querySelector('.course-summary').textContent,
            plot: picture(w.querySelector('.course-plot'))}; }"""


def read_toggles(widget):
    return widget.evaluate(_TOGGLE_JS)


def read_flow(widget):
    return widget.evaluate(_FLOW_JS)


def shown_error(widget):
    """The error message a widget shows, or None."""
    errors = widget.locator(WIDGET_ERROR)
    return errors.first.inner_text() if errors.count() else None


def wait_for_redraw(widget, read, before, timeout_s=5.0):
    """Wait until every field of ``read(widget)`` is drawn and differs from ``before``.

    Fails within ``timeout_s`` with the widget's own error message when its callback raised,
    or with the fields that did not change.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        state = read(widget)
        error = shown_error(widget)  # after the read: a drawn error is never taken as a redraw
        if error:
            raise AssertionError(f"the widget's callback failed: {error}")
        complete = all(str(v).strip("|") for v in state.values())  # no empty area
        if complete and all(state[k] != before[k] for k in before):
            return state
        if time.monotonic() > deadline:
            same = [k for k in before if state[k] == before[k]]
            raise AssertionError(f"the widget did not redraw within {timeout_s} s; unchanged: {same}; "
                                 f"showing {state}")
        time.sleep(0.05)


def wait_for_state(widget, read, expected, timeout_s=5.0):
    """Wait until ``read(widget) == expected`` (e.g. back to the first drawing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        state = read(widget)
        error = shown_error(widget)
        if error:
            raise AssertionError(f"the widget's callback failed: {error}")
        if state == expected:
            return state
        if time.monotonic() > deadline:
            diff = {k: (expected[k][:200], state[k][:200]) for k in expected if state[k] != expected[k]}
            raise AssertionError(f"the widget did not return to its first drawing within {timeout_s} s: "
                                 f"{diff}")
        time.sleep(0.05)


def wait_visible(locator, what, timeout_s=15):
    try:
        locator.wait_for(state="visible", timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        raise AssertionError(f"{what} did not appear within {timeout_s} s") from None
