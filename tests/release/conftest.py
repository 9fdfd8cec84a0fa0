"""One graded release and one environment with its wheel installed, for the whole session.

The release is built by its one command, as CI builds it (``python -m course_utils
release-graded FOLDER --summary FILE``), in a child process. A serial run (no xdist) that will
need it starts that command as soon as collection is done, so its minute of recording, mostly on
one core, overlaps the tests that run before it (grading the class of test_graded_grading.py
uses the other core); the first test that asks for the release waits for it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from course_utils.exercises import graded_release as graded_release_module

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "graded-course"
FIXTURE = "graded_release"


@dataclass
class Build:
    """The release command, running or done: where it writes, and its process."""

    out: Path
    summary: Path
    process: subprocess.Popen

    @classmethod
    def start(cls, folder: Path) -> Build:
        out, summary = folder / "release", folder / "summary.json"
        command = [sys.executable, "-m", "course_utils", "release-graded", str(out), "--summary", str(summary)]
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return cls(out, summary, process)

    def wait(self) -> tuple[Path, dict]:
        stdout, stderr = self.process.communicate(timeout=1200)
        assert self.process.returncode == 0, (stdout[-2000:], stderr[-4000:])
        assert stdout.startswith(f"graded release written to {self.out} in "), stdout
        return self.out, json.loads(self.summary.read_text(encoding="utf-8"))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()        # this one process, by its handle
            self.process.communicate()


def pytest_collection_modifyitems(session, config, items):
    """Start the build now if a test will need it and this is not an xdist worker (every worker
    collects every test: each would start one)."""
    if hasattr(config, "workerinput") or not any(FIXTURE in getattr(i, "fixturenames", ()) for i in items):
        return
    config.stash[BUILD] = Build.start(Path(config._tmp_path_factory.mktemp("graded")))


BUILD = pytest.StashKey[Build]()


def pytest_unconfigure(config):
    build = config.stash.get(BUILD, None)
    if build is not None:
        build.stop()


@pytest.fixture(scope="session")
def graded_release(request, tmp_path_factory) -> tuple[Path, dict]:
    """(the release folder, the build's summary), built once by ``python -m course_utils release-graded``."""
    build = request.config.stash.get(BUILD, None)
    if build is None:
        build = request.config.stash[BUILD] = Build.start(tmp_path_factory.mktemp("graded"))
    return build.wait()


@pytest.fixture(scope="session")
def graded_environment(graded_release, tmp_path_factory) -> Path:
    """A fresh venv with the graded wheel; torch and the rest come from .venv's site-packages
    through a .pth line (whose own .pth files, such as the editable install of the checkout, are
    not run: the checkout's course_utils and course_solutions stay out of reach). Its python."""
    out, summary = graded_release
    return graded_release_module.environment(out / summary["wheel"], tmp_path_factory.mktemp("env") / "venv", KERNEL)
