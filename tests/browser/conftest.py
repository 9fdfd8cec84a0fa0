"""Fixtures for the browser tests: one JupyterLab server per session, a fresh page per test.

No request may leave 127.0.0.1: the page aborts every other request, and Chromium's own
background services are switched off by flags and by a host resolver that knows no other
host. Screenshots go to ``test-output/browser/`` (or ``$COURSE_BROWSER_OUTPUT``).
"""

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # lab_server, lab_page (helpers of this folder)

CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
OUTPUT = Path(os.environ.get("COURSE_BROWSER_OUTPUT", REPO / "test-output" / "browser"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
LOCAL_HOSTS = {"127.0.0.1"}


def _missing_reason():
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python package playwright is not installed (pip install playwright)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _missing_reason()
    if reason:
        if os.environ.get("COURSE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab(browser):
    from lab_server import LabServer

    with LabServer() as server:
        yield server


@pytest.fixture
def page(browser, lab, request):
    """A new browser context whose requests to anything but 127.0.0.1 are aborted."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    blocked = []

    def only_local(route):
        host = urlsplit(route.request.url).hostname
        if host in LOCAL_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.blocked_requests = blocked
    yield page
    context.close()
    lab.shutdown_kernels()


@pytest.fixture
def screenshot(request):
    """``screenshot(page)`` saves a full-page PNG named after the test; returns its path."""
    OUTPUT.mkdir(parents=True, exist_ok=True)

    def take(page, suffix=""):
        name = request.node.name.replace("/", "_").replace("[", "-").strip("]")
        path = OUTPUT / f"{name}{suffix}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def open_copy(lab, page, request):
    """``open_copy(path)`` copies a notebook into the server's root and opens it."""
    from lab_page import open_notebook

    def open_(path):
        name = lab.add(path)
        workspace = "w" + "".join(ch for ch in request.node.name if ch.isalnum())[-40:]
        open_notebook(page, lab, name, workspace)
        return name

    return open_
