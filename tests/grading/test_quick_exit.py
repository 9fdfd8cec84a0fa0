"""The command's pytest process ends with ``os._exit`` once pytest is done (``quick_exit``):
with the session's own status, its output flushed, and none of Python's teardown after it."""

from __future__ import annotations

import os
import subprocess
import sys

CONFTEST = '''
import atexit, os
from course_utils.grade.pytest_side import quick_exit

# registered before the quick exit is armed, so it would run after it: never, if it works
atexit.register(lambda: open(os.environ["TORN_DOWN"], "w").write("teardown ran"))

def pytest_configure(config):
    quick_exit.arm()

def pytest_sessionstart(session):
    quick_exit.remember(session)
'''


def _run(tmp_path, test_source: str, *options):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_it.py").write_text(test_source)
    marker = tmp_path / "torn_down"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options,
                           "test_it.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, TORN_DOWN=str(marker),
                                   PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"))
    return done, marker.exists()


def test_a_passing_run_exits_0_with_its_summary_and_no_teardown(tmp_path):
    done, torn_down = _run(tmp_path, "def test_fine():\n    pass\n")
    assert done.returncode == 0
    assert "1 passed" in done.stdout   # flushed before the exit
    assert not torn_down


def test_a_failing_run_exits_1(tmp_path):
    done, torn_down = _run(tmp_path, "def test_wrong():\n    assert False\n")
    assert done.returncode == 1 and "1 failed" in done.stdout
    assert not torn_down


def test_a_run_without_a_session_status_exits_the_normal_way(tmp_path):
    done, torn_down = _run(tmp_path, "def test_fine():\n    pass\n", "--no-such-option")
    assert done.returncode == 4
    assert torn_down
