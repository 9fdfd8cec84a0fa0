"""The pytest-xdist internals ``xdist_bridge`` reads exist and mean what it takes them to mean:
a worker's queued items, in the order it will run them (what lets it start the next
notebook's kernel ahead)."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys

import xdist.remote

from course_utils.grade.pytest_side import xdist_bridge

RECORDER = '''
import json, os
import pytest
from course_utils.grade.pytest_side import xdist_bridge

@pytest.fixture(autouse=True)
def record(request):
    queued = [item.nodeid for item in xdist_bridge.queued_items(request.config)]
    with open(os.environ["QUEUED_LOG"], "a") as log:
        log.write(json.dumps([request.node.nodeid, queued]) + "\\n")
'''


def test_the_internals_the_bridge_uses_exist():
    source = inspect.getsource(xdist.remote.WorkerInteractor)
    for attribute in ("self.torun", "self.nextitem_index", "self.session", "self.torun.get()"):
        assert attribute in source, attribute
    assert callable(xdist.remote.TestQueue.lock)


def _run(tmp_path, *options) -> list:
    (tmp_path / "conftest.py").write_text(RECORDER)
    for name in ("a", "b"):
        (tmp_path / f"test_{name}.py").write_text(
            "".join(f"def test_{name}{i}():\n    pass\n" for i in range(3)))
    log = tmp_path / "queued.jsonl"
    env = dict(os.environ, QUEUED_LOG=str(log), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           *options, "test_a.py", "test_b.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_worker_sees_what_it_was_given_and_has_not_run(tmp_path):
    seen = dict(_run(tmp_path, "-p", "xdist.plugin", "-n", "1", "--dist", "loadfile"))
    assert seen["test_a.py::test_a0"][:2] == ["test_a.py::test_a1", "test_a.py::test_a2"]
    # loadfile gives a worker the next file before it needs it: its kernel can start ahead
    assert "test_b.py::test_b0" in seen["test_a.py::test_a2"]
    assert seen["test_a.py::test_a2"].index("test_b.py::test_b0") == 0
    assert seen["test_b.py::test_b2"] == []
    assert all(node not in queued for node, queued in seen.items())   # never the running one


def test_outside_a_worker_nothing_is_queued(tmp_path):
    seen = _run(tmp_path)
    assert [queued for _node, queued in seen] == [[]] * 6
