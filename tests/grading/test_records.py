"""The records of a grading run: typed, validated against the release at the trust boundary,
and a run whose checks could not be judged at all is the grader's failure, never a grade."""

from __future__ import annotations

import json

import pytest

from course_utils.grade import records
from course_utils.grade.command import runner
from course_utils.grade.records import BadRecord, CheckResult, Note, Status


# ------------------------------------------------------------------ records

RELEASE = {"90_fixture": {"lesson90.q1": 2, "lesson90.q2": 1}}


def _wire(**changes):
    base = records.to_wire(CheckResult("ada", "90_fixture", "lesson90.q1", "correct", 2, judged=True))
    return {**base, **changes}


def test_records_travel_as_plain_json_and_come_back_the_same():
    record = CheckResult("ada", "90_fixture", "lesson90.q1", Status.NOT_CORRECT, 2,
                         message="not attempted", judged=True)
    wire = json.loads(json.dumps(records.to_wire(record)))
    assert wire["status"] == "not correct"
    back = records.from_wire(wire, RELEASE)
    assert back == record and back.status is Status.NOT_CORRECT
    note = Note("ada", "a note", "90_fixture", flagged=True)
    assert records.from_wire(json.loads(json.dumps(records.to_wire(note)))) == note


@pytest.mark.parametrize("wire, message", [
    (_wire(exercise="lesson90.q9"), "not an exercise of"),
    (_wire(lesson="91_other"), "not an exercise of"),
    (_wire(maximum=100), "maximum 100"),
    (_wire(status="excellent"), "unknown status"),
    (_wire(status="tampered"), "unknown status"),
    (_wire(bonus=1), "malformed record"),
    ({"kind": "Grade", "student": "ada"}, "unknown record kind"),
    ("not a record", "not a record"),
], ids=["bonus-exercise", "other-lesson", "raised-maximum", "status", "tampered-is-gone", "extra-field",
        "kind", "text"])
def test_records_that_do_not_match_the_release_are_refused(wire, message):
    with pytest.raises(BadRecord, match=message):
        records.from_wire(wire, RELEASE)


def test_earned_points_follow_from_the_status_alone():
    assert CheckResult("a", "l", "e", "correct", 3).earned == 3
    for status in ("not correct", "fault"):
        assert CheckResult("a", "l", "e", status, 3).earned == 0


def _prepared(tmp_path):
    from course_utils.grade.command.collect import Submission
    from course_utils.grade.command.prepare import Release

    release = Release(tmp_path / "90_fixture.ipynb", None)
    release.checks = []
    path = tmp_path / "90_fixture" / "ada" / "90_fixture.ipynb"
    prepared = runner.Prepared(notebooks=[(path, Submission("Ada L.", "ada", "90", path), release)])
    return prepared


@pytest.mark.parametrize("line, message", [
    ("{not json", "record 1 of the grading run is malformed"),
    (json.dumps(_wire(student="bob")), "names a notebook that was not graded"),
])
def test_a_bad_record_stops_the_run_instead_of_grading(tmp_path, monkeypatch, line, message):
    prepared = _prepared(tmp_path)
    monkeypatch.setattr(type(prepared.notebooks[0][2]), "exercises",
                        property(lambda self: {"lesson90.q1": 2}))
    (tmp_path / "records.jsonl").write_text(line + "\n")
    with pytest.raises(runner.GradingError, match=message):
        runner.read_verdicts(tmp_path / "records.jsonl", prepared)


def test_no_check_judged_anywhere_is_the_grader_s_failure():
    checks = [CheckResult("a", "l", "e", "not correct", 1, reason="the check cell failed"),
              CheckResult("b", "l", "e", "not correct", 1, reason="the check cell failed")]
    with pytest.raises(runner.GradingError, match="no check could be judged"):
        runner._refuse_silent_failure(checks)
    with pytest.raises(runner.GradingError, match="no notebook could be graded: boom"):
        runner._refuse_silent_failure([CheckResult("a", "l", "e", "fault", 1, reason="boom")])
    runner._refuse_silent_failure(checks + [CheckResult("c", "l", "e", "correct", 1, judged=True)])
