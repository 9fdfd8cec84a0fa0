"""Auto-checked exercises: ``from course_utils.exercises import lesson03 as ex``.

Each ``lessonNN`` module declares one small class per exercise (see ``engine.Exercise``);
``ex.q1.check(answer)``, ``ex.q1.hint()`` and ``ex.q1.solution()`` are the student's side.
Under grading (``COURSE_GRADING=1``) ``check()`` shows nothing: right after the check cell the
grader runs the same check in its own process, through probes
(``course_utils.grade.pytest_side.judge``).

This package imports nothing heavy: the lesson modules (and torch) load on first use.
"""

from importlib import import_module

from course_utils.exercises.engine import Exercise, Incorrect, Outcome

__all__ = ["Exercise", "Incorrect", "Outcome"]


def __getattr__(name):
    # lets ``course_utils.exercises.lesson03`` work as an attribute, not only via import
    if name.startswith("lesson") and name[6:].isdigit():
        try:
            return import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
