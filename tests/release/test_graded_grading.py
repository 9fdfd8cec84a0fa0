"""Grading either release: the same work, done in the graded release's notebooks or in the self-study
release's, gets the same gradebook row (points, statuses, messages, notes).

The grader grades with the full course_utils and restores check cells from exercises/ by id; the
graded notebooks differ only by their first cell and the release line of their set-up cell, so no
build is needed here: the notebooks are made as the release makes them (graded_notebook).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.exercises import graded_release, release
from course_utils.exercises.release import BEGIN, END

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LESSONS = ("05_branching", "06_residual")   # the lessons whose checks compare with references
MISTAKES = {   # one wrong answer per lesson, the same in both releases
    "05_branching": ("dim=1", "dim=0"),
    "06_residual": ("return out + x", "return out"),
}


def solved(text: str, name: str) -> str:
    """A released notebook with the course's solutions in its stubs, and one mistake."""
    source = nbformat.read(ROOT / "solutions" / name, as_version=4)
    answers = {cell.id: "\n".join(line for line in cell.source.splitlines() if line.strip() not in (BEGIN, END))
               for cell in source.cells if cell.cell_type == "code" and BEGIN in cell.source}
    nb = nbformat.reads(text, as_version=4)
    old, new = MISTAKES[name.removesuffix(".ipynb")]
    mistaken = False
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
            if not mistaken and old in cell.source:
                cell.source, mistaken = cell.source.replace(old, new, 1), True
    assert mistaken, f"{name}: {old!r} is in no solution"
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def graded_rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("both-releases")
    released = {item.target.name: item.text for item in release.plan(ROOT)[0]}
    for lesson in LESSONS:
        name = f"{lesson}.ipynb"
        for student, text in (("self-study", released[name]),
                              ("graded", graded_release.graded_notebook(released[name], name))):
            folder = root / "submissions" / student
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(solved(text, name), encoding="utf-8")
    command = [sys.executable, "-m", "course_utils.grade", str(root / "submissions"), "--out", str(root / "out"),
               "--release", str(ROOT / "exercises"), "--no-progress", "--workers", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ), cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    book = json.loads((root / "out" / "gradebook.json").read_text())
    return {row["student"]: row for row in book["students"]}


def test_both_releases_get_the_same_row(graded_rows):
    mine, theirs = graded_rows["graded"], graded_rows["self-study"]
    assert mine["details"] == theirs["details"]
    assert (mine["points"], mine["total"], mine["notes"], mine["flagged"], mine["failures"]) == \
           (theirs["points"], theirs["total"], theirs["notes"], theirs["flagged"], theirs["failures"])


def test_the_work_is_really_graded(graded_rows):
    """Each lesson's mistake costs its exercise's points, the rest earn theirs (so the equality
    above compares real verdicts), including the exercises whose checks compare with a reference."""
    row = graded_rows["graded"]
    lost = {e for e, d in row["details"].items() if d["status"] != "correct"}
    assert lost == {"lesson05.q2", "lesson06.q1"}, json.dumps(row["details"])[:3000]
    assert all(row["points"][e] == d["points"] for e, d in row["details"].items() if e not in lost)
    assert {"lesson05.q3", "lesson05.q4", "lesson06.q3"} <= set(row["details"]) - lost
