"""One student per fault, built from the fixture solution notebook (lesson 90, 6 points).

Each entry says how to damage the notebook and what grading must report. The faulty student's
other exercises stay correct, so the tests also show a fault costs only what it touches.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "grading"
SOLUTION = FIXTURES / "solutions" / "90_fixture.ipynb"
RELEASE = FIXTURES / "release"
FILE = "90_fixture.ipynb"


def _cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def _set(cell_id, source):
    def change(nb):
        _cell(nb, cell_id).source = source
    return change


def _insert_after(cell_id, source):
    def change(nb):
        index = nb.cells.index(_cell(nb, cell_id))
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return change


def _delete(cell_id):
    def change(nb):
        nb.cells.remove(_cell(nb, cell_id))
    return change


def _both(*changes):
    def change(nb):
        for one in changes:
            one(nb)
    return change


def _duplicate(cell_id):
    def change(nb):
        cell = _cell(nb, cell_id)
        twin = copy.deepcopy(cell)
        twin.id = "twin"
        twin.source = "pass  # the check, copied and emptied"
        nb.cells.insert(nb.cells.index(cell) + 1, twin)
    return change


def _move_above(cell_id, anchor_id):
    def change(nb):
        cell = _cell(nb, cell_id)
        nb.cells.remove(cell)
        nb.cells.insert(nb.cells.index(_cell(nb, anchor_id)), cell)
    return change


FAKE_EX = '''class _Pass:
    def check(self, answer):
        print("Correct")
class _Ex:
    q1 = q2 = q3 = _Pass()
ex = _Ex()'''

PATCH_ENGINE = '''import os
from course_utils.exercises import engine
engine.Exercise.check = lambda self, answer: print("Correct")
ex.q1.check = lambda answer: print("Correct")
os.environ["COURSE_GRADING"] = "0"'''

WRONG = {"q1": _set("q1-answer", "def double(x):\n    return x + 1"),
         "q2": _set("q2-answer", "answer = 41"),
         "q3": _set("q3-answer", "def greet(name):\n    return name")}

# student -> (how the notebook is damaged, or raw file bytes, expected points per exercise,
#             substring the notes must contain)
NOTEBOOK_FAULTS = {
    "solved": (None, {"q1": 2, "q2": 1, "q3": 3}, ""),
    "deleted_check": (_both(_delete("q1-check"), WRONG["q1"]), {"q1": 0, "q2": 1, "q3": 3},
                      "lesson90.q1: check cell deleted"),
    "edited_check": (_both(_set("q2-check", "print('Correct')"), WRONG["q2"]),
                     {"q1": 2, "q2": 0, "q3": 3}, "lesson90.q2: check cell edited"),
    "duplicated_check": (_both(_duplicate("q3-check"), WRONG["q3"]), {"q1": 2, "q2": 1, "q3": 0},
                         "lesson90.q3: check cell duplicated"),
    "moved_check": (_move_above("q2-check", "q2-answer"), {"q1": 2, "q2": 1, "q3": 3},
                    "lesson90.q2: check cell moved"),
    "endless_loop": (_set("q1-answer", "def double(x):\n    while True:\n        pass"),
                     {"q1": 0, "q2": 1, "q3": 3}, "timed out"),
    "memory_hog": (_insert_after("q1-check", "hog = []\nwhile True:\n"
                                 "    hog.append(bytearray(50_000_000))"),
                   {"q1": 2, "q2": 1, "q3": 3}, "ran out of memory"),
    "kills_kernel": (_set("q1-answer", "def double(x):\n    import os\n    os._exit(1)"),
                     {"q1": 0, "q2": 1, "q3": 3}, "the kernel died"),
    "sys_exit": (_set("q2-answer", "import sys\nsys.exit()\nanswer = 42"),
                 {"q1": 2, "q2": 0, "q3": 3}, "sys.exit()"),
    "enormous_output": (_insert_after("q1-check", "print('spam ' * 2_000_000)\n"
                                      "import os\nos.write(1, b'ham ' * 5_000_000)\n"
                                      "'eggs ' * 2_000_000"),
                        {"q1": 2, "q2": 1, "q3": 3}, "enormous output truncated"),
    "redefines_ex": (_both(_insert_after("q1-answer", FAKE_EX), WRONG["q1"], WRONG["q2"]),
                     {"q1": 0, "q2": 0, "q3": 3}, ""),
    # the checks run in the grader's process: patching the kernel's copy changes no verdict
    "patches_engine": (_both(_insert_after("imports", PATCH_ENGINE), WRONG["q1"]),
                       {"q1": 0, "q2": 1, "q3": 3}, ""),
    "patches_builtin": (_insert_after("imports", "import builtins\n_repr = builtins.repr\n"
                                      "builtins.repr = lambda obj: _repr(obj)"),
                        {"q1": 2, "q2": 1, "q3": 3}, ""),
}

FILE_FAULTS = {
    "broken_json": (FILE, b'{"cells": [', "not valid JSON"),
    "empty_file": (FILE, b"", "empty file"),
    "wrong_type": ("90_fixture.pdf", b"%PDF-1.4 not a notebook", "not a notebook file (.pdf)"),
    "json_not_notebook": (FILE, b'{"answer": 42}', "not a Jupyter notebook"),
}


def build(root: Path) -> Path:
    """SUBMISSIONS/<student>/... for every fault; returns the folder."""
    solution = nbformat.read(SOLUTION, as_version=4)
    for student, (change, _points, _note) in NOTEBOOK_FAULTS.items():
        nb = copy.deepcopy(solution)
        if change is not None:
            change(nb)
        (root / student).mkdir(parents=True)
        nbformat.write(nb, root / student / FILE)
    for student, (name, raw, _note) in FILE_FAULTS.items():
        (root / student).mkdir(parents=True)
        (root / student / name).write_bytes(raw)
    (root / "unknown_lesson").mkdir()
    nbformat.write(solution, root / "unknown_lesson" / "42_elsewhere.ipynb")
    return root
