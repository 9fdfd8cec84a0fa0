"""One graded release and one environment with its wheel installed, for the whole session.

The release is built by its one command, as CI builds it (``python -m course_utils
release-graded FOLDER --summary FILE``), in a child process, when a test first asks for it.
(Started at collection instead, so that its recording overlapped the grading test, it made the
session slower on two shared cores: 82 s against 77 s.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.exercises import graded_release as graded_release_module

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "graded-course"


@pytest.fixture(scope="session")
def graded_release(tmp_path_factory) -> tuple[Path, dict]:
    """(the release folder, the build's summary), built once by ``python -m course_utils release-graded``."""
    folder = tmp_path_factory.mktemp("graded")
    out, summary = folder / "release", folder / "summary.json"
    done = subprocess.run([sys.executable, "-m", "course_utils", "release-graded", str(out), "--summary", str(summary)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-4000:])
    assert done.stdout.startswith(f"graded release written to {out} in "), done.stdout
    return out, json.loads(summary.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def graded_environment(graded_release, tmp_path_factory) -> Path:
    """A fresh venv with the graded wheel; torch and the rest come from .venv's site-packages
    through a .pth line (whose own .pth files, such as the editable install of the checkout, are
    not run: the checkout's course_utils and course_solutions stay out of reach). Its python."""
    out, summary = graded_release
    return graded_release_module.environment(out / summary["wheel"], tmp_path_factory.mktemp("env") / "venv", KERNEL)
