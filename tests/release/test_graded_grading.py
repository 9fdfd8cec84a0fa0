"""Grading either release: the same work, done in the graded release's notebooks or in the self-study
release's, gets the same gradebook row (points, statuses, messages, notes); only the row's
``ran_with`` differs: which course_utils each notebook ran with, as its stored outputs say.

The grader grades with the full course_utils and restores check cells from exercises/ by id; the
graded notebooks differ only by their first cell and the release line of their set-up cell, so no
build is needed here: the notebooks are made as the release makes them (graded_notebook), and the
set-up cell's stored output is the line describe_release prints in each installation.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from unittest import mock

import nbformat
import pytest

from course_utils.exercises import graded, graded_release, release
from course_utils.exercises.release import BEGIN, END

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LESSONS = ("05_branching", "06_residual")   # the lessons whose checks compare with references
MISTAKES = {   # one wrong answer per lesson, the same in both releases
    "05_branching": ("dim=1", "dim=0"),
    "06_residual": ("return out + x", "return out"),
}


GRADED_INFO = {"kind": "graded", "built": "2026-03-01", "source": "6aa192c"}


def release_line(kind: str) -> str | None:
    """What the set-up cell of a graded notebook prints with each course_utils installed."""
    if kind == "graded":
        with mock.patch.object(graded, "release_info", lambda: GRADED_INFO):
            return graded.describe_release()
    return graded.describe_release() if kind == "self-study" else None


# student -> (which release's notebooks, which course_utils they ran with)
STUDENTS = {"graded": ("graded", "graded"),
            "self-study": ("self-study", None),      # self-study notebooks print no release line
            "mistake": ("graded", "self-study")}     # the self-study wheel installed by mistake


def solved(text: str, name: str, printed: str | None = None) -> str:
    """A released notebook with the course's solutions in its stubs, and one mistake; ``printed``:
    what its set-up cell printed when the student ran it."""
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
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    setup.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed + "\n")] if printed else []
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def graded_rows(tmp_path_factory):
    root = tmp_path_factory.mktemp("both-releases")
    released = {item.target.name: item.text for item in release.plan(ROOT)[0]}
    for lesson in LESSONS:
        name = f"{lesson}.ipynb"
        for student, (notebooks, ran_with) in STUDENTS.items():
            text = graded_release.graded_notebook(released[name], name) if notebooks == "graded" else released[name]
            folder = root / "submissions" / student
            folder.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(solved(text, name, release_line(ran_with) if ran_with else None),
                                       encoding="utf-8")
    command = [sys.executable, "-m", "course_utils", "grade", str(root / "submissions"), "--out", str(root / "out"),
               "--release", str(ROOT / "exercises"), "--no-progress", "--workers", "1"]
    # one worker: the small-run path (kernels started ahead in one process) takes 10 s of processor
    # time against 16 s for two xdist workers, and 24-29 s against 31-39 s on two shared cores
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=dict(os.environ), cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    book = json.loads((root / "out" / "gradebook.json").read_text())
    with open(root / "out" / "gradebook.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    rows = {row["student"]: row for row in book["students"]}
    for line in table:
        rows[line["student"]]["csv"] = line
    rows["report"] = (root / "out" / "report.html").read_text(encoding="utf-8")
    return rows


def test_both_releases_get_the_same_row(graded_rows):
    """Equal in everything but the ran-with field (and the student's name)."""
    rows = {student: {k: v for k, v in graded_rows[student].items() if k not in ("student", "key", "ran_with", "csv")}
            for student in STUDENTS}
    assert rows["graded"]["details"] == rows["self-study"]["details"] == rows["mistake"]["details"]
    assert rows["graded"] == rows["self-study"] == rows["mistake"]
    csv_rows = {s: {k: v for k, v in graded_rows[s]["csv"].items() if k not in ("student", "ran with")} for s in STUDENTS}
    assert csv_rows["graded"] == csv_rows["self-study"] == csv_rows["mistake"]


def test_the_row_says_which_course_utils_each_notebook_ran_with(graded_rows):
    graded_entry = {"release": "graded release", "version": "0.1.0", "built": "2026-03-01", "source": "6aa192c"}
    assert graded_rows["graded"]["ran_with"] == {lesson: graded_entry for lesson in LESSONS}
    assert graded_rows["mistake"]["ran_with"] == {
        lesson: {"release": "self-study", "version": "0.1.0", "built": "", "source": ""} for lesson in LESSONS}
    assert graded_rows["self-study"]["ran_with"] == {
        lesson: {"release": "unknown", "version": "", "built": "", "source": ""} for lesson in LESSONS}
    assert {s: graded_rows[s]["csv"]["ran with"] for s in STUDENTS} == {
        "graded": "graded release 0.1.0 (built 2026-03-01, from 6aa192c)", "self-study": "unknown",
        "mistake": "self-study 0.1.0"}
    page = graded_rows["report"]
    assert "graded release <b>2</b>, self-study <b>2</b>, unknown <b>2</b>" in page
    assert '<td data-value="graded release 0.1.0 (built 2026-03-01, from 6aa192c)">' in page


def test_the_work_is_really_graded(graded_rows):
    """Each lesson's mistake costs its exercise's points, the rest earn theirs (so the equality
    above compares real verdicts), including the exercises whose checks compare with a reference."""
    row = graded_rows["graded"]
    lost = {e for e, d in row["details"].items() if d["status"] != "correct"}
    assert lost == {"lesson05.q2", "lesson06.q1"}, json.dumps(row["details"])[:3000]
    assert all(row["points"][e] == d["points"] for e, d in row["details"].items() if e not in lost)
    assert {"lesson05.q3", "lesson05.q4", "lesson06.q3"} <= set(row["details"]) - lost
