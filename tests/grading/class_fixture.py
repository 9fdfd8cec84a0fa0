"""A small class, built directly as a gradebook dict (the structure of ``gradebook.json``).

Six students: one all correct, two who make the same shape mistake with different numbers,
one flagged for an edited check cell, one whose runs failed (a time-out, a dead kernel, memory, an
unreadable file), and one whose name and messages are HTML. The expected figures in
tests/grading/test_report.py are worked out by hand from this table.
"""

from __future__ import annotations

# build_class() returns fresh dicts every time: tests change their own copy of the class
POINTS = {"lesson03.q1": 2, "lesson03.q2": 1, "lesson04.q1": 3}
LESSON_OF = {"lesson03": "03_sequential", "lesson04": "04_ordereddict"}
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ANSWER = "<img src=x onerror=alert(2)>"

SHAPE_MISTAKE = ("✗ Incorrect — lesson03.q1: Stack the layers\n"
                 "The output has shape (4, {got}); expected (4, 16).\n"
                 "At cell 5, line 3, in forward:\n"
                 "    {code}")


def detail(exercise: str, status: str, message: str = "", reason: str = "", fault: str = "") -> dict:
    return {"status": status, "reason": reason, "message": message, "points": POINTS[exercise],
            "lesson": LESSON_OF[exercise.split(".")[0]], "fault": fault}


def failure(lesson: str, fault: str, text: str) -> dict:
    return {"lesson": lesson, "fault": fault, "text": text}


def student(name: str, outcomes: dict, notes=(), flagged=False, failed=False, failures=(),
            **extra) -> dict:
    """A gradebook row; ``outcomes`` maps an exercise to a detail (absent: not submitted)."""
    points = {e: (None if e not in outcomes else p if outcomes[e]["status"] == "correct" else 0)
              for e, p in POINTS.items()}
    return {"student": name, "points": points, "details": dict(outcomes), "notes": list(notes),
            "flagged": flagged, "failed_to_run": failed, "failures": list(failures),
            "total": sum(p for p in points.values() if p), **extra}


def correct(exercise: str) -> dict:
    return detail(exercise, "correct", "✓ Correct — " + exercise)


def build_class() -> dict:
    students = [
        student("ada", {e: correct(e) for e in POINTS}),
        student("ben", {
            "lesson03.q1": detail("lesson03.q1", "not correct",
                                  SHAPE_MISTAKE.format(got=8, code="return self.fc(x)"),
                                  "the check did not pass"),
            "lesson03.q2": correct("lesson03.q2"), "lesson04.q1": correct("lesson04.q1")}),
        student("cleo", {
            "lesson03.q1": detail("lesson03.q1", "not correct",
                                  SHAPE_MISTAKE.format(got=12, code="y = self.layers(inputs)"),
                                  "the check did not pass"),
            "lesson03.q2": detail("lesson03.q2", "not correct",
                                  "✗ Incorrect — lesson03.q2: Activation\n"
                                  "You returned 'relu'; expected the function itself.",
                                  "the check did not pass")}),
        student("dan", {
            "lesson03.q1": detail("lesson03.q1", "not correct",
                                  "○ Not attempted — lesson03.q1: Stack the layers\n"
                                  "Not attempted yet: the stub is still there.",
                                  "the check did not pass"),
            "lesson03.q2": correct("lesson03.q2"), "lesson04.q1": correct("lesson04.q1")},
            notes=["03_sequential.ipynb: check cell of lesson03.q1 was edited; restored from "
                   "the release"],
            flagged=True),
        student("eve", {
            "lesson03.q1": detail("lesson03.q1", "fault", "",
                                  "timed out after 5 s (an endless loop?)", "time-out"),
            "lesson03.q2": detail("lesson03.q2", "fault", "",
                                  "the kernel died (os._exit, exit(), a crash or too much memory)",
                                  "kernel died"),
            "lesson04.q1": detail("lesson04.q1", "fault", "",
                                  "04_ordereddict.ipynb: not a readable Jupyter notebook "
                                  "(JSONDecodeError)", "unreadable file")},
            notes=["04_ordereddict.ipynb: not a readable Jupyter notebook (JSONDecodeError)",
                   "lesson03.q1: timed out after 5 s (an endless loop?)",
                   "03_sequential: code cell 7: ran out of memory (the grader caps memory per "
                   "notebook)"],
            failures=[failure("04_ordereddict", "unreadable file",
                              "04_ordereddict.ipynb: not a readable Jupyter notebook (JSONDecodeError)"),
                      failure("03_sequential", "time-out", "lesson03.q1: timed out after 5 s"),
                      failure("03_sequential", "kernel died", "lesson03.q2: the kernel died"),
                      failure("03_sequential", "out of memory", "03_sequential: code cell 7: ran out "
                                                                 "of memory")],
            failed=True, sandbox="bubblewrap"),
        student(HOSTILE, {
            "lesson03.q1": correct("lesson03.q1"),
            "lesson03.q2": detail("lesson03.q2", "not correct",
                                  "✗ Incorrect — lesson03.q2: Activation\n"
                                  f"You returned '{HOSTILE_ANSWER}'; expected the function itself.",
                                  "the check did not pass")},
            notes=[f"03_sequential.ipynb: {HOSTILE_ANSWER} cell edited; restored"], flagged=True),
    ]
    return {"exercises": [{"id": e, "points": p} for e, p in POINTS.items()], "maximum": 6,
            "students": sorted(students, key=lambda row: row["student"])}
