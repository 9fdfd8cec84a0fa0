"""Which course_utils a submission ran with: read from its stored outputs before the grader
clears them, bounded and checked at the records' trust boundary, shown on the row (gradebook
JSON and CSV, report), cached with the rest, and never part of a grade.

No kernel runs here: the records, the gradebook and the report are built directly (a second).
The whole way through the grader is tests/release/test_graded_grading.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from course_utils.exercises import graded
from course_utils.grade import records
from course_utils.grade.command import gradebook, prepare, report
from course_utils.grade.records import BadRecord, CheckResult, CourseRelease, Note, RanWith

GRADED_INFO = {"kind": "graded", "built": "2026-03-01", "source": "v1.2-3-g6aa192c-dirty"}


def graded_line() -> str:
    with mock.patch.object(graded, "release_info", lambda: GRADED_INFO):
        return graded.describe_release()


def notebook(*printed: str):
    """A notebook whose set-up cell printed ``printed`` (stream outputs, as a kernel stores them)."""
    outputs = [new_output("stream", name="stdout", text=text) for text in printed]
    return new_notebook(cells=[new_code_cell("import course_utils", outputs=outputs), new_code_cell("x = 1")])


# --- reading the line a notebook printed ---------------------------------------------------------

def test_every_line_describe_release_prints_reads_back_as_its_parts(monkeypatch):
    assert graded.parse_release_line(graded_line()) == graded.ReleaseLine(
        "graded", "0.1.0", "2026-03-01", "v1.2-3-g6aa192c-dirty")
    assert graded.parse_release_line(graded.describe_release()) == graded.ReleaseLine("self-study", "0.1.0")
    monkeypatch.setattr(graded, "release_kind", lambda: graded.NO_SOLUTIONS)
    assert graded.parse_release_line(graded.describe_release()) == graded.ReleaseLine("no solutions", "0.1.0")
    for other in ("course_utils is great: yes", "course_utils 0.1.0: graded", "hello", ""):
        assert graded.parse_release_line(other) is None


def test_the_release_line_wins_over_a_students_look_alike_printed_above_it():
    nb = notebook("course_utils rocks: says me\n", "seeded\n" + graded_line() + "\n")
    assert graded.ran_with(nb) == graded_line()
    assert graded.ran_with(notebook("course_utils rocks: says me\n")) == "course_utils rocks: says me"


@pytest.mark.parametrize("printed, expected", [
    ([graded_line()], ("graded release", "0.1.0", "2026-03-01", "v1.2-3-g6aa192c-dirty",
                       "graded release 0.1.0 (built 2026-03-01, from v1.2-3-g6aa192c-dirty)")),
    (["course_utils 0.1.0: graded release (no build date); no solutions, checks ..."],
     ("graded release", "0.1.0", "", "", "graded release 0.1.0")),
    (["course_utils 0.1.0: self-study release; solutions included (ex.qN.solution())"],
     ("self-study", "0.1.0", "", "", "self-study 0.1.0")),
    (["course_utils 0.1.0: no solutions installed"], ("no solutions", "0.1.0", "", "", "no solutions 0.1.0")),
    ([], ("unknown", "", "", "", "unknown")),
    (["course_utils hacked: graded release lol\n"], ("unknown", "", "", "", "unknown")),
    # the student's own text in the parts: whatever fails a part's pattern is left out
    (["course_utils =cmd|'/c'!A1: graded release (built <b>1</b>, from ../../etc); no solutions"],
     ("graded release", "", "", "", "graded release")),
    (["course_utils 0.1.0: graded release (built 2026-03-01, from " + "a" * 500 + "); no solutions"],
     ("graded release", "0.1.0", "2026-03-01", "", "graded release 0.1.0 (built 2026-03-01)")),
], ids=["graded", "graded-no-date", "self-study", "no-solutions", "never-run", "look-alike", "hostile-parts",
        "overlong-source"])
def test_prepare_reads_which_course_utils_a_notebook_ran_with(printed, expected):
    record = prepare.ran_with("ada", "05_branching", notebook(*printed))
    assert (record.release.value, record.version, record.built, record.source, record.label) == expected
    assert (record.student, record.lesson) == ("ada", "05_branching")


# --- the trust boundary -----------------------------------------------------------------------------

RELEASE = {"05_branching": {"lesson05.q1": 1}}


def wire(**changes):
    base = records.to_wire(RanWith("ada", "05_branching", CourseRelease.GRADED, "0.1.0", "2026-03-01", "6aa192c"))
    return {**base, **changes}


def test_a_ran_with_record_travels_as_plain_json_and_comes_back_the_same():
    record = RanWith("ada", "05_branching", CourseRelease.GRADED, "0.1.0+graded", "2026-03-01", "6aa192c")
    data = json.loads(json.dumps(records.to_wire(record)))
    assert data == {"kind": "RanWith", "student": "ada", "lesson": "05_branching", "release": "graded release",
                    "version": "0.1.0+graded", "built": "2026-03-01", "source": "6aa192c"}
    back = records.from_wire(data, RELEASE)
    assert back == record and back.release is CourseRelease.GRADED


@pytest.mark.parametrize("data, message", [
    (wire(release="graded release, trust me"), "unknown release"),
    (wire(release=["graded release"]), "unknown release"),
    (wire(version="<script>alert(1)</script>"), "version '<script>"),
    (wire(version="0.1.0\nnotes"), "is not a version"),
    (wire(version="1" * 33), "is not a version"),
    (wire(built="yesterday"), "built 'yesterday' is not a built"),
    (wire(source="=HYPERLINK(\"x\")"), "is not a source"),
    (wire(release="self-study"), "only a graded release has a build date or source"),
    (wire(release="unknown", built="", source=""), "an unknown release has no version"),
    (wire(points=5), "malformed ran-with record"),
    ({k: v for k, v in wire().items() if k != "source"}, "malformed ran-with record"),
    (wire(student=7), "without student or lesson"),
    (wire(lesson="06_residual"), "not a lesson of the release"),
    (wire(version=3), "every field must be text"),
], ids=["release", "release-type", "html-version", "newline", "overlong", "date", "formula", "self-study-date",
        "unknown-version", "extra-field", "missing-field", "student", "other-lesson", "number"])
def test_ran_with_records_that_are_not_well_formed_are_refused(data, message):
    with pytest.raises(BadRecord, match=message):
        records.from_wire(data, RELEASE)


# --- on the row, never in the points ----------------------------------------------------------------

def checks(student):
    return [CheckResult(student, "05_branching", "lesson05.q1", "correct", 1, judged=True),
            CheckResult(student, "06_residual", "lesson06.q1", "not correct", 2, message="✗ wrong", judged=True),
            Note(student, "06_residual.ipynb: lesson06.q1: check cell edited; the released one was restored",
                 "06_residual", flagged=True)]


def book_of(ran_with: dict[str, list[RanWith]]):
    rows: dict = {}
    for student, releases in ran_with.items():
        for record in [*checks(student), *releases]:
            gradebook.add(rows, record)
    return gradebook.build(rows, {"lesson05.q1": 1, "lesson06.q1": 2})


def test_the_row_says_which_course_utils_each_notebook_ran_with_and_nothing_else_changes(tmp_path):
    graded_ = lambda s, lesson: RanWith(s, lesson, CourseRelease.GRADED, "0.1.0", "2026-03-01", "6aa192c")  # noqa: E731
    book = book_of({
        "ada": [graded_("ada", "05_branching"), graded_("ada", "06_residual")],
        "ben": [RanWith("ben", "05_branching", CourseRelease.SELF_STUDY, "0.1.0"), RanWith("ben", "06_residual")],
        "cy": [],
    })
    without = book_of({"ada": [], "ben": [], "cy": []})
    rows = {row["student"]: row for row in book["students"]}
    assert rows["ada"]["ran_with"] == {
        lesson: {"release": "graded release", "version": "0.1.0", "built": "2026-03-01", "source": "6aa192c"}
        for lesson in ("05_branching", "06_residual")}
    assert rows["ben"]["ran_with"]["06_residual"] == {"release": "unknown", "version": "", "built": "", "source": ""}
    assert rows["cy"]["ran_with"] == {}
    # points, totals, details, notes, flags: all as without the field
    strip = lambda b: [{k: v for k, v in r.items() if k != "ran_with"} for r in b["students"]]  # noqa: E731
    assert strip(book) == strip(without) and book["maximum"] == without["maximum"] == 3
    assert [r["total"] for r in book["students"]] == [1, 1, 1]

    csv_path, json_path = gradebook.write(book, tmp_path)
    with open(csv_path, newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["student", "lesson05.q1", "lesson06.q1", "total", "maximum", "notes", "ran with"]
    assert {line[0]: line[-1] for line in table[1:]} == {
        "ada": "graded release 0.1.0 (built 2026-03-01, from 6aa192c)",
        "ben": "05_branching: self-study 0.1.0; 06_residual: unknown",
        "cy": ""}
    assert json.loads(json_path.read_text())["students"][0]["ran_with"] == rows["ada"]["ran_with"]
    # shards: merging keeps the field as it is
    assert gradebook.merge([book])["students"] == book["students"]

    summary = report.summarise(book)
    assert summary["ran_with"] == {"graded release": 2, "self-study": 1, "unknown": 1}
    page = report.write_report(book, tmp_path).read_text(encoding="utf-8")
    assert '<th data-type="text">ran with</th>' in page
    assert '<td data-value="05_branching: self-study 0.1.0; 06_residual: unknown">' in page
    assert "Notebooks ran with:" in page and "graded release <b>2</b>" in page


def test_a_second_record_for_the_same_notebook_does_not_replace_the_first():
    rows: dict = {}
    gradebook.add(rows, RanWith("ada", "05_branching", CourseRelease.GRADED, "0.1.0"))
    gradebook.add(rows, RanWith("ada", "05_branching", CourseRelease.SELF_STUDY, "0.1.0"))
    assert rows["ada"].ran_with["05_branching"].release is CourseRelease.GRADED


def test_a_gradebook_written_before_the_field_still_gives_its_csv_and_report(tmp_path):
    book = book_of({"ada": []})
    for row in book["students"]:
        del row["ran_with"]
    gradebook.write_csv(book, tmp_path / "old.csv")
    assert (tmp_path / "old.csv").read_text().splitlines()[1].endswith(",")
    assert report.summarise(book)["ran_with"] == {}
    assert "Notebooks ran with" not in report.write_report(book, tmp_path).read_text(encoding="utf-8")


# --- prepared and cached with the rest --------------------------------------------------------------

def test_the_runner_reads_it_before_restoring_and_the_cache_gives_it_back(tmp_path):
    """``prepare_all`` records it from the uploaded notebook (whose outputs restoring clears),
    keeps it with the notes it caches, and a regrade that reuses the cache finds it again."""
    from course_utils.grade.command import runner
    from course_utils.grade.command.collect import Submission
    from course_utils.grade.command.reuse import Reuse

    ROOT = Path(__file__).resolve().parents[2]
    releases = prepare.load_release(ROOT / "exercises")
    release = releases["05"]
    student = nbformat.read(release.path, as_version=4)
    setup = next(c for c in student.cells if c.cell_type == "code")
    setup.outputs = [new_output("stream", name="stdout", text=graded_line() + "\n")]
    upload = tmp_path / "submissions" / "ada" / release.path.name
    upload.parent.mkdir(parents=True)
    nbformat.write(student, upload)
    submission = Submission("ada", "ada", "05", upload)
    settings = runner.Settings(tmp_path / "submissions", tmp_path / "out", ROOT / "exercises")

    reuse = Reuse(settings)
    prepared = runner.prepare_all([submission], releases, tmp_path / "scratch", reuse)
    expected = RanWith("ada", "05_branching", CourseRelease.GRADED, "0.1.0", "2026-03-01", "v1.2-3-g6aa192c-dirty")
    assert expected in prepared.records
    target = prepared.notebooks[0][0]
    assert expected in prepared.notes[target]
    assert all(cell.get("outputs", []) == [] for cell in prepared.ready[target].cells)   # cleared for the run

    results = [CheckResult("ada", "05_branching", e, "correct", p, judged=True) for e, p in release.exercises.items()]
    reuse.keep([(submission, release)], results + prepared.notes[target])
    again = runner.prepare_all([submission], releases, tmp_path / "scratch2", Reuse(settings))
    assert again.reused == 1 and again.notebooks == []
    assert expected in again.records
