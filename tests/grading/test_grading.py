"""The instructor command end to end: one grading run over every fault, one over the course.

Runs are expensive (a kernel per notebook), so each module-scoped fixture grades a whole
folder once and the tests read its gradebook.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.grade.command import gradebook, runner
import faults  # tests/grading/faults.py (pytest puts this folder on sys.path)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
FIXTURE_ENV = {"PYTHONPATH": str(faults.FIXTURES), "COURSE_GRADING_PRELOAD": ""}


def grade(submissions: Path, out: Path, release: Path, *extra: str, env=None) -> str:
    command = [sys.executable, "-m", "course_utils.grade", str(submissions), "--out", str(out),
               "--release", str(release), "--no-progress", *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, **(env or {})), cwd=out.parent)
    assert done.returncode == 0, done.stderr
    return done.stdout


def rows(out: Path) -> dict[str, dict]:
    return {row["student"]: row for row in gradebook.read(out)["students"]}


def lesson90(row: dict) -> dict:
    """The fault students submit only lesson 90 (the release also has lesson 91)."""
    return {e: p for e, p in row["points"].items() if e.startswith("lesson90.")}


# 18 notebooks: side by side in two pytest-xdist workers, or in one process that starts kernels
# ahead (execute.parallel_workers); every fault must be told apart either way, kernel restarts
# included.
MODES = {"xdist": ("--workers", "2", "--parallel", "side-by-side"),
         "one process": ("--workers", "2", "--parallel", "one-process")}


@pytest.fixture(scope="module", params=sorted(MODES))
def fault_run(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("faults")
    submissions = faults.build(root / "submissions")
    summary = grade(submissions, root / "out", faults.RELEASE, "--timeout", "5",
                    *MODES[request.param], "--memory-mb", "1024", env=FIXTURE_ENV)
    log = (root / "out" / "pytest.log").read_text()
    assert ("bringing up nodes" in log) == (request.param == "xdist"), log[:500]
    return root / "out", summary


@pytest.mark.parametrize("student", sorted(faults.NOTEBOOK_FAULTS))
def test_each_notebook_fault_gets_its_points_and_reason(fault_run, student):
    out, _ = fault_run
    _change, expected, note = faults.NOTEBOOK_FAULTS[student]
    row = rows(out)[student]
    assert lesson90(row) == {f"lesson90.{q}": p for q, p in expected.items()}
    assert row["total"] == sum(expected.values())
    assert note in "; ".join(row["notes"])
    if not note:
        assert row["notes"] == []


@pytest.mark.parametrize("student", sorted(faults.FILE_FAULTS))
def test_each_unreadable_file_gets_zero_and_the_reason(fault_run, student):
    out, _ = fault_run
    row = rows(out)[student]
    assert lesson90(row) == {"lesson90.q1": 0, "lesson90.q2": 0, "lesson90.q3": 0}
    assert faults.FILE_FAULTS[student][2] in "; ".join(row["notes"])
    assert row["failed_to_run"]


def test_unknown_lesson_is_reported_and_earns_nothing(fault_run):
    row = rows(fault_run[0])["unknown_lesson"]
    assert set(row["points"].values()) == {None}
    assert row["total"] == 0
    assert "42_elsewhere.ipynb: unknown lesson" in row["notes"][0]


def test_faults_are_kept_apart_in_the_csv_and_summary(fault_run):
    out, summary = fault_run
    lines = (out / "gradebook.csv").read_text().splitlines()
    assert lines[0] == ("student,lesson90.q1,lesson90.q2,lesson90.q3,lesson91.q1,lesson91.q2,"
                        "lesson91.q3,total,maximum,notes,ran with")
    assert any(line.startswith("solved,2,1,3,,,,6,12,") for line in lines)
    assert len(lines) == 1 + len(faults.NOTEBOOK_FAULTS) + len(faults.FILE_FAULTS) + 1
    assert "graded: 18 students" in summary
    assert "flagged (check cells changed): 4 (deleted_check, duplicated_check, edited_check, moved_check)" \
        in summary
    failed = "broken_json, empty_file, endless_loop, json_not_notebook, kills_kernel, memory_hog, " \
             "sys_exit, wrong_type"
    assert f"failed to run (at least one notebook or cell): 8 ({failed})" in summary
    assert not rows(out)["unknown_lesson"]["failed_to_run"]   # a stray file is not a failed run


def test_check_message_reaches_feedback_without_grader_code_or_solution(fault_run):
    out, _ = fault_run
    text = (out / "feedback" / "edited_check.md").read_text()
    assert "That is not the number we are looking for." in text   # the check's message
    assert "Six times seven." in text                               # the hint
    assert "lesson90.q2 — Bind the answer: 0 / 1" in text
    for path in (out / "feedback").glob("*.md"):
        body = path.read_text()
        assert "before_check" not in body and "answer = 42" not in body
        assert "def double(x):\n    return 2 * x" not in body


def test_enormous_output_is_truncated_before_it_is_kept(fault_run):
    out, _ = fault_run
    records = rows(out)["enormous_output"]
    assert records["points"]["lesson90.q3"] == 3
    # printed and displayed: 20 MB without the cap; written to file descriptor 1: 20 MB more
    assert (out / "pytest.log").stat().st_size < 2_000_000


@pytest.fixture(scope="module")
def file_faults_only(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    submissions = root / "submissions"
    for student, (name, raw, _note) in faults.FILE_FAULTS.items():
        for copy in range(3):
            (submissions / f"{student}{copy}").mkdir(parents=True)
            (submissions / f"{student}{copy}" / name).write_bytes(raw)
    return root, submissions


def test_shards_partition_students_and_merge_back(file_faults_only):
    root, submissions = file_faults_only
    whole = root / "whole"
    whole.mkdir()
    grade(submissions, whole / "out", faults.RELEASE)
    parts = []
    for k in (1, 2, 3):
        (root / f"part{k}").mkdir()
        grade(submissions, root / f"part{k}" / "out", faults.RELEASE, "--shard", f"{k}/3")
        parts.append(root / f"part{k}" / "out")
    sizes = [len(rows(p)) for p in parts]
    assert sum(sizes) == len(rows(whole / "out")) == 12 and min(sizes) > 0
    merged = root / "merged"
    subprocess.run([sys.executable, "-m", "course_utils.grade", "merge", *map(str, parts),
                    "--out", str(merged)], check=True, capture_output=True)
    assert gradebook.read(merged) == gradebook.read(whole / "out")
    assert len(list((merged / "feedback").glob("*.md"))) == 12
    with pytest.raises(ValueError, match="more than one shard"):
        gradebook.merge([gradebook.read(parts[0]), gradebook.read(parts[0])])


def test_in_shard_is_stable_and_exclusive():
    names = [f"student{i}" for i in range(200)]
    owners = [[k for k in range(1, 5) if runner.in_shard(n, (k, 4))] for n in names]
    assert all(len(o) == 1 for o in owners)
    assert owners == [[k for k in range(1, 5) if runner.in_shard(n, (k, 4))] for n in names]


PLANTED = "import pathlib; pathlib.Path({marker!r}).write_text('ran as the grader')\n"


def test_plugin_alone_writes_a_gradebook(tmp_path):
    """``pytest --nbval-lax --gradebook FILE SUBMISSIONS/`` is the instructor command: check cells
    restored, and nothing planted in a student's folder ever runs in the grader's process."""
    for student, source in (("solved", faults.SOLUTION), ("untouched", faults.RELEASE / faults.FILE),
                            ("test_mallory", faults.RELEASE / faults.FILE)):
        (tmp_path / "subs" / student).mkdir(parents=True)
        (tmp_path / "subs" / student / faults.FILE).write_bytes(source.read_bytes())
    (tmp_path / "subs" / "broken").mkdir()
    (tmp_path / "subs" / "broken" / faults.FILE).write_text("{not json")
    # mallory plants every file pytest might import; her check cell says it passed
    mallory = tmp_path / "subs" / "test_mallory"
    for name in ("conftest.py", "__init__.py", "test_grades.py", "grading_fixture_lesson.py"):
        (mallory / name).write_text(PLANTED.format(marker=str(tmp_path / f"ran-{name}")))
    (tmp_path / "subs" / "conftest.py").write_text(PLANTED.format(marker=str(tmp_path / "ran-top")))
    nb = nbformat.read(mallory / faults.FILE, as_version=4)
    for cell in nb.cells:
        if cell.get("metadata", {}).get("course"):
            cell.source = "print('Correct')"
    nbformat.write(nb, mallory / faults.FILE)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c",
                           os.devnull, "--rootdir", str(tmp_path), "--nbval-lax",
                           "--gradebook", "grades.csv", "--grading-release", str(faults.RELEASE),
                           "subs", "-q"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **FIXTURE_ENV))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines[0] == ("student,lesson90.q1,lesson90.q2,lesson90.q3,lesson91.q1,lesson91.q2,lesson91.q3,"
                        "total,maximum,notes,ran with"), done.stdout
    assert "solved,2,1,3,,,,6,12,,unknown" in lines
    assert "untouched,0,0,0,,,,0,12,,unknown" in lines
    assert any(l.startswith("broken,0,0,0,,,,0,12,") and "not valid JSON" in l for l in lines), lines
    assert any(l.startswith("test_mallory,0,0,0,,,,0,12,") and "check cell edited" in l for l in lines), lines
    assert sorted(p.name for p in tmp_path.glob("ran-*")) == []
    assert (tmp_path / "grades-results" / "report.html").is_file()


# ------------------------------------------------------------------ the real course

def _course_pairs() -> list[str]:
    """Every lesson: a solution without its released exercise notebook fails, never skips."""
    names = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert names, "no solution notebooks"
    return names


@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    for name in _course_pairs():
        for student, folder in (("solutions", "solutions"), ("untouched", "exercises")):
            (root / "submissions" / student).mkdir(parents=True, exist_ok=True)
            (root / "submissions" / student / name).write_bytes((ROOT / folder / name).read_bytes())
    grade(root / "submissions", root / "out", ROOT / "exercises", "--workers", "2")
    return root / "out"


def _exercises(name: str) -> dict[str, int]:
    nb = nbformat.read(ROOT / "exercises" / name, as_version=4)
    return {c.metadata["course"]["exercise"]: c.metadata["course"]["points"]
            for c in nb.cells if "course" in c.metadata and "exercise" in c.metadata["course"]}


@pytest.mark.parametrize("name", _course_pairs())
def test_solutions_score_full_marks(course_run, name):
    row = rows(course_run)["solutions"]
    expected = _exercises(name)
    assert expected, f"{name} has no check cells"
    assert {e: row["points"][e] for e in expected} == expected, json.dumps(row["details"])[:2000]


@pytest.mark.parametrize("name", _course_pairs())
def test_untouched_exercises_score_zero(course_run, name):
    row = rows(course_run)["untouched"]
    expected = _exercises(name)
    assert {e: row["points"][e] for e in expected} == dict.fromkeys(expected, 0)
    assert not row["flagged"]


# ------------------------------------------------------------------ regrading with the cache

def test_a_regrade_runs_only_the_changed_notebook(tmp_path):
    submissions = tmp_path / "subs"
    for student in ("ada", "bo", "cy"):
        (submissions / student).mkdir(parents=True)
        (submissions / student / faults.FILE).write_bytes(faults.SOLUTION.read_bytes())
    out = tmp_path / "out"
    first = grade(submissions, out, faults.RELEASE, "--workers", "2", env=FIXTURE_ENV)
    assert "notebooks run: 3, reused from the cache: 0" in first
    before = gradebook.read(out)
    nb = nbformat.read(submissions / "bo" / faults.FILE, as_version=4)
    next(c for c in nb.cells if c.get("id") == "q2-answer").source = "answer = 41"
    nbformat.write(nb, submissions / "bo" / faults.FILE)
    second = grade(submissions, out, faults.RELEASE, "--workers", "2", env=FIXTURE_ENV)
    assert "notebooks run: 1, reused from the cache: 2" in second
    after = {row["student"]: row for row in gradebook.read(out)["students"]}
    assert after["bo"]["points"]["lesson90.q2"] == 0 and after["bo"]["total"] == 5
    assert [after[s] for s in ("ada", "cy")] == [r for r in before["students"] if r["student"] != "bo"]
    assert (out / "report.html").exists()
    fresh = grade(submissions, out, faults.RELEASE, "--workers", "2", "--fresh", env=FIXTURE_ENV)
    assert "notebooks run: 3, reused from the cache: 0" in fresh
    assert {r["student"]: r for r in gradebook.read(out)["students"]} == after
