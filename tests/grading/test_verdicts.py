"""The pieces that decide whether a verdict counts, without kernels: seals, the integrity
snapshot, the guard's verdict function and the validation of records."""

from __future__ import annotations

import functools
import json
import sys
import types

import pytest
import torch
from torch import nn

from course_utils.grade import integrity, records, runner, seal
from course_utils.grade.records import BadRecord, CheckResult, Note

KEY = b"k" * 64


def _sealed(fields: list[str], key: bytes = KEY) -> str:
    import hmac

    body = "\x1f".join(fields)
    return body + "\x1f" + hmac.new(key, body.encode(), "sha256").hexdigest()


# ------------------------------------------------------------------ seals

def test_a_genuine_seal_is_accepted():
    text = _sealed(["n1", "lesson90.q1", "correct", "Well done.", "", "no"])
    assert seal.unseal(KEY, text, "n1", "lesson90.q1") == {
        "status": "correct", "message": "Well done.", "findings": [], "solution_used": False}


@pytest.mark.parametrize("text, nonce, exercise", [
    (_sealed(["n1", "lesson90.q1", "correct", "", "", "no"], key=b"x" * 64), "n1", "lesson90.q1"),
    (_sealed(["n0", "lesson90.q1", "correct", "", "", "no"]), "n1", "lesson90.q1"),
    (_sealed(["n1", "lesson90.q2", "correct", "", "", "no"]), "n1", "lesson90.q1"),
    (_sealed(["n1", "lesson90.q1", "excellent", "", "", "no"]), "n1", "lesson90.q1"),
    (_sealed(["n1", "lesson90.q1", "not correct", "", "", "no"]).replace("not correct", "correct"),
     "n1", "lesson90.q1"),
    ("Correct", "n1", "lesson90.q1"),
    (None, "n1", "lesson90.q1"),
    ("\x1f" * 6, "n1", "lesson90.q1"),
], ids=["other-key", "replayed-nonce", "other-exercise", "unknown-status", "edited", "printed",
        "nothing", "empty-fields"])
def test_anything_else_is_refused(text, nonce, exercise):
    assert seal.unseal(KEY, text, nonce, exercise) is None


# ------------------------------------------------------------------ the integrity snapshot

@pytest.fixture
def snapshot():
    from course_utils.exercises import lesson03

    places = integrity.take(("course_utils.exercises.lesson03",))
    assert integrity.changes(places) == []
    return places, lesson03


@pytest.mark.parametrize("change, name", [
    (lambda m: setattr(torch, "allclose", lambda *a, **k: True), "torch.allclose"),
    (lambda m: setattr(torch, "allclose", functools.wraps(torch.allclose)(lambda *a, **k: True)),
     "torch.allclose"),
    (lambda m: setattr(nn, "Conv2d", type("Conv2d", (nn.Conv2d,), {})), "torch.nn.Conv2d"),
    (lambda m: setattr(torch.Tensor, "__eq__", lambda self, other: True),
     "torch.Tensor.__eq__ (added)"),
    (lambda m: setattr(m.q1, "check_answer", lambda answer: None), "lesson03.q1.check_answer (added)"),
    (lambda m: setattr(sys.modules["course_utils.exercises.engine"], "isinstance",
                       lambda *a: True), "course_utils.exercises.engine.isinstance (added)"),
    (lambda m: sys.modules.__setitem__("course_utils.exercises.checks", types.ModuleType("fake")),
     "sys.modules['course_utils.exercises.checks']"),
    (lambda m: setattr(__import__("builtins"), "ascii", lambda x: ""), "builtins.ascii"),
], ids=["replaced", "functools-wraps", "nn-class", "tensor-method", "instance-attribute",
        "shadowed-builtin", "sys-modules", "builtin"])
def test_every_replacement_is_named(snapshot, change, name):
    places, lesson03 = snapshot
    namespaces = [p[2] for p in places if isinstance(p[2], dict)] + [vars(lesson03.q1)]
    saved = [(live, dict(live)) for live in namespaces]
    tensor = dict(vars(torch.Tensor))
    try:
        change(lesson03)
        assert name in integrity.changes(places)
    finally:
        for live, before in saved:   # put back only what changed: never empty a live namespace
            for key in [k for k in live if k not in before]:
                del live[key]
            for key, value in before.items():
                if live.get(key) is not value:
                    live[key] = value
        if "__eq__" in vars(torch.Tensor) and "__eq__" not in tensor:
            del torch.Tensor.__eq__
    assert integrity.changes(places) == []


def test_torch_s_own_lazy_wrapper_is_not_tampering(snapshot):
    places, _ = snapshot
    original = torch.optim.SGD.step
    wrapper = torch.optim.SGD.__dict__["step"]
    sgd = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)   # torch wraps step here
    assert sgd is not None and integrity.changes(places) == []
    assert original is not None and wrapper is not None


def test_the_shell_s_machinery_is_watched():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    places = integrity.shell_places(shell)
    assert integrity.changes(places) == []
    shell.ast_transformers.append(object())
    shell.set_custom_exc((ValueError,), lambda *a, **k: None)
    try:
        assert {"get_ipython().ast_transformers", "get_ipython().custom_exceptions"} <= set(
            integrity.changes(places))
    finally:
        shell.ast_transformers.pop()
        shell.set_custom_exc((), None)


# ------------------------------------------------------------------ records

RELEASE = {"90_fixture": {"lesson90.q1": 2, "lesson90.q2": 1}}


def _wire(**changes):
    base = records.to_wire(CheckResult("ada", "90_fixture", "lesson90.q1", "correct", 2, sealed=True))
    return {**base, **changes}


def test_records_travel_as_plain_json_and_come_back_the_same():
    record = CheckResult("ada", "90_fixture", "lesson90.q1", "tampered", 2,
                         findings=("torch.allclose",), sealed=True)
    wire = json.loads(json.dumps(records.to_wire(record)))
    assert records.from_wire(wire, RELEASE) == record
    note = Note("ada", "a note", "90_fixture", flagged=True)
    assert records.from_wire(json.loads(json.dumps(records.to_wire(note)))) == note


@pytest.mark.parametrize("wire, message", [
    (_wire(exercise="lesson90.q9"), "not an exercise of"),
    (_wire(lesson="91_other"), "not an exercise of"),
    (_wire(maximum=100), "maximum 100"),
    (_wire(status="excellent"), "unknown status"),
    (_wire(bonus=1), "malformed record"),
    ({"kind": "Grade", "student": "ada"}, "unknown record kind"),
    ("not a record", "not a record"),
], ids=["bonus-exercise", "other-lesson", "raised-maximum", "status", "extra-field", "kind", "text"])
def test_records_that_do_not_match_the_release_are_refused(wire, message):
    with pytest.raises(BadRecord, match=message):
        records.from_wire(wire, RELEASE)


def test_earned_points_follow_from_the_status_alone():
    assert CheckResult("a", "l", "e", "correct", 3).earned == 3
    for status in ("not correct", "fault", "tampered"):
        assert CheckResult("a", "l", "e", status, 3).earned == 0


def _prepared(tmp_path):
    from course_utils.grade.collect import Submission
    from course_utils.grade.prepare import Release

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


def test_no_sealed_verdict_anywhere_is_the_grader_s_failure():
    checks = [CheckResult("a", "l", "e", "tampered", 1, reason="no sealed verdict"),
              CheckResult("b", "l", "e", "tampered", 1, reason="no sealed verdict")]
    with pytest.raises(runner.GradingError, match="no check returned a sealed verdict"):
        runner._refuse_silent_failure(checks)
    with pytest.raises(runner.GradingError, match="no notebook could be graded: boom"):
        runner._refuse_silent_failure([CheckResult("a", "l", "e", "fault", 1, reason="boom")])
    runner._refuse_silent_failure(checks + [CheckResult("c", "l", "e", "correct", 1, sealed=True)])


# ------------------------------------------------------------------ the guard, in this process

def test_the_keeper_seals_only_for_the_genuine_verdict_function():
    """A subprocess: the guard's audit hook cannot be removed from the process it is in."""
    import subprocess

    code = r'''
import sys, types
from IPython.core.interactiveshell import InteractiveShell
from course_utils.grade import guard, seal
module = types.ModuleType("lesson99")
from course_utils.exercises.engine import Exercise, Incorrect
class Q(Exercise):
    id = "lesson99.q1"; hints = ["a", "b"]; solution = "answer = 1"
    def check_answer(self, answer):
        if answer != 1:
            raise Incorrect("no")
module.q1 = Q()
shell = InteractiveShell.instance()
published = {}
guard.install(b"k" * 64, [module], shell, lambda v, s: published.update(verdict=v))
verdict = published["verdict"]
shell.user_ns["answer"] = 1
good = seal.unseal(b"k" * 64, verdict("lesson99.q1", "answer", "n1"), "n1", "lesson99.q1")
keeper = next(c.cell_contents.__self__ for c in verdict.__closure__
              if type(getattr(c.cell_contents, "__self__", None)).__name__ == "generator")
forged = keeper.send(("seal", "n2", "lesson99.q1", "correct", "", []))
try:
    keeper.gi_frame
    frame = "readable"
except RuntimeError:
    frame = "refused"
try:
    __import__("gc").get_objects()
    objects = "readable"
except RuntimeError:
    objects = "refused"
after = seal.unseal(b"k" * 64, verdict("lesson99.q1", "answer", "n3"), "n3", "lesson99.q1")
print(good["status"], forged, frame, objects, after["status"], after["findings"])
'''
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split(" ", 5) == ["correct", "None", "refused", "refused", "tampered",
                                         "['gc.get_objects', \"reading the grader's frame\"]\n"], \
        done.stderr[-2000:]
