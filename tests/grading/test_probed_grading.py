"""Grades decided where no student code runs: lesson 01's exercises are judged in the grading
process through probes, whatever the student's kernel does to the checking code it holds.

One grading run (the instructor command, sandboxed) over the real release of lesson 01:
a solved notebook, a blank one, and blank notebooks that attack the kernel's side:
- ``always_correct``: replaces every piece of checking code the kernel can reach (the engine's
  ``evaluate``/``judge``, the shared checks, ``torch.allclose``, the old verdict function) with
  code that says "correct";
- ``forged_replies``: replaces the probe server itself, so every probe gets a made-up reply;
- ``memorised``: learns the notebook's own check inputs of q4 and answers exactly those; it
  passes the check in the notebook and must fail under grading, where the inputs are new.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.grade.command import gradebook

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LESSON = "01_layers.ipynb"
EXERCISES = ("lesson01.q1", "lesson01.q2", "lesson01.q3", "lesson01.q4")

ALWAYS_CORRECT = '''
import torch
from course_utils.exercises import checks, engine
from course_utils.exercises.engine import Exercise, Outcome
def correct(self, *args, **kwargs):
    return Outcome(self.id, self.title, self.points, "correct", self.why)
Exercise.evaluate = correct
Exercise.judge = correct
Exercise.check_answer = lambda self, answer: None
checks.close = checks.same = lambda *args, **kwargs: True
torch.allclose = torch.equal = lambda *args, **kwargs: True
import course_utils.grade.kernel_side.kernel as kernel_side
kernel_side.verdict = lambda *args, **kwargs: "correct"
'''

FORGED_REPLIES = '''
import course_utils.probes.server as server
from course_utils.probes import wire
def forged(text):
    request = wire.decode(text)
    op = request.get("op")
    if op == "target":
        return wire.encode({"ok": {"handle": wire.Handle(0)}})
    if op == "describe":
        return wire.encode({"ok": {"kind": "function", "type": "function", "type_module": "x",
                                   "name": "f", "callable": True, "signature": "(*a)"}})
    if op == "call":
        return wire.encode({"ok": {"value": 0, "changed": []}})
    return wire.encode({"ok": None})
server.serve = forged
'''

MEMORISED = '''
import torch
seen = {}
def recorder(images):
    out = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
    seen[tuple(images.flatten().tolist())] = out.clone()
    return out
ex.q4.evaluate(recorder)   # the notebook's own check, run once to learn its inputs
def to_conv_layout(images):
    key = tuple(images.flatten().tolist())
    if key in seen:
        return seen[key].clone()
    return torch.zeros(images.shape[0], 1, *images.shape[1:3])
print("in the notebook:", ex.q4.evaluate(to_conv_layout).status)
'''


def _blank_with(cell_source: str, after: str = "s01-01", replace: str | None = None):
    nb = nbformat.read(ROOT / "exercises" / LESSON, as_version=4)
    index = next(i for i, c in enumerate(nb.cells) if c.get("id") == (replace or after))
    cell = nbformat.v4.new_code_cell(cell_source)
    if replace:
        nb.cells[index] = cell
        cell["id"] = replace
    else:
        nb.cells.insert(index + 1, cell)
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("probed")
    submissions = root / "submissions"
    students = {
        "solved": nbformat.read(ROOT / "solutions" / LESSON, as_version=4),
        "blank": nbformat.read(ROOT / "exercises" / LESSON, as_version=4),
        "always_correct": _blank_with(ALWAYS_CORRECT),
        "forged_replies": _blank_with(FORGED_REPLIES),
        "memorised": _blank_with(MEMORISED, replace="s01-15"),
    }
    for name, nb in students.items():
        (submissions / name).mkdir(parents=True)
        nbformat.write(nb, submissions / name / LESSON)
    out = root / "out"
    command = [sys.executable, "-m", "course_utils.grade", str(submissions), "--out", str(out),
               "--no-progress", "--workers", "2"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=root,
                          env=dict(os.environ))
    assert done.returncode == 0, done.stderr + done.stdout
    return {row["student"]: row for row in gradebook.read(out)["students"]}


def points(row) -> dict:
    return {e: row["points"][e] for e in EXERCISES}


def test_the_solved_notebook_earns_every_point(graded):
    assert points(graded["solved"]) == {"lesson01.q1": 2, "lesson01.q2": 2, "lesson01.q3": 2, "lesson01.q4": 2}


@pytest.mark.parametrize("student", ["blank", "always_correct", "forged_replies"])
def test_blank_work_earns_nothing_whatever_the_kernel_says(graded, student):
    row = graded[student]
    assert points(row) == dict.fromkeys(EXERCISES, 0), json.dumps(row, indent=1)


def test_forged_replies_are_judged_as_the_answer_s_behaviour(graded):
    details = graded["forged_replies"]["details"]
    assert all(details[e]["status"] == "not correct" for e in EXERCISES), details


def test_an_answer_that_memorised_the_notebook_s_inputs_fails_on_fresh_ones(graded):
    row = graded["memorised"]
    assert row["points"]["lesson01.q4"] == 0, json.dumps(row["details"]["lesson01.q4"], indent=1)
    assert row["details"]["lesson01.q4"]["message"].startswith("incorrect: "), row["details"]


def test_the_memorised_answer_passes_in_the_notebook():
    """The other half of the test above: in the notebook (secret 0) the same answer passes,
    so it is the grader's fresh inputs, not a broken answer, that fail it."""
    from course_utils.exercises import lesson01 as ex

    namespace = {"ex": ex}
    exec(MEMORISED.replace('print("in the notebook:", ', "status = (").replace(".status)", ".status)"),
         namespace)
    assert namespace["status"] == "correct"
