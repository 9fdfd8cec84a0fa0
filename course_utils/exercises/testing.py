"""Assertions for authors' tests of exercise checks (the learntools idea, with four outcomes).

    from course_utils.exercises import lesson03 as ex
    from course_utils.exercises.testing import assert_check_passed, assert_check_failed
    assert_check_passed(ex.q1, MySequentialStack)
    assert_check_failed(ex.q1, StackWithoutRelu, match="ReLU")

Each helper evaluates the check without displaying anything (so it ignores
``COURSE_GRADING``), returns the ``Outcome`` for further asserts, and on a surprise
says what the check really said, with the underlying traceback when the answer errored:
an engine bug must not hide behind "error in your code".

Answer banks (``tests/exercise_answers/lessonNN.py``) declare, per exercise, answers as data:

    BANK = {
        "q1": [
            Right(linear_with_if),                                   # passes
            Right(lambda x, w, b: F.linear(x, w, b), name="functional"),
            Wrong(lambda x, w, b: x @ w.T, "The bias is missing"),   # incorrect, message contains it
            Wrong(lambda x, w, b: x @ w.T + nope, "NameError", status=Status.ERROR),
        ],
    }

and ``tests/unit/test_every_exercise.py`` judges every entry of every bank with ``judge_entry``.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from enum import Enum

from course_utils.exercises.engine import LABELS, Exercise, Outcome


FRESH_SECRET = 20261206   # a grader's secret: the check's inputs drawn anew


def _evaluate(exercise: Exercise, answer) -> Outcome:
    """The outcome in the notebook; the same answer judged on a grader's fresh inputs must get
    the same status (a right answer never fails on new inputs, a wrong one never passes)."""
    if not isinstance(exercise, Exercise):
        raise TypeError(f"expected an exercise such as ex.q1, got {type(exercise).__name__}")
    outcome = exercise.evaluate(answer)
    if answer is not NotImplemented:
        from course_utils.probes.client import LocalTransport

        fresh = exercise.judge(LocalTransport({"answer": answer}), "answer", secret=FRESH_SECRET)
        if fresh.status != outcome.status:
            raise AssertionError(f"{exercise.id}: {LABELS[outcome.status].lower()} on the notebook's inputs "
                                 f"({outcome.message[:300]}) but {LABELS[fresh.status].lower()} on fresh "
                                 f"ones ({fresh.message[:300]})")
    return outcome


def _expect(outcome: Outcome, status: str, match: str | None) -> Outcome:
    if outcome.status == status and (match is None or match in outcome.message):
        return outcome
    said = f"{LABELS[outcome.status].lower()}: {outcome.message}"
    if outcome.location is not None:
        said += f"\n  {outcome.location.caption()} {outcome.location.source}"
    wanted = LABELS[status].lower() + (f" with a message containing {match!r}" if match is not None else "")
    detail = ""
    if outcome.exception is not None and outcome.status == "error":
        detail = "\n" + "".join(traceback.format_exception(outcome.exception))
    raise AssertionError(f"{outcome.exercise_id}: expected {wanted}, but the check said {said}{detail}")


def assert_check_passed(exercise: Exercise, answer) -> Outcome:
    return _expect(_evaluate(exercise, answer), "correct", None)


def assert_check_failed(exercise: Exercise, answer, match: str | None = None) -> Outcome:
    """The check must say 'incorrect', and its message must contain ``match`` (a substring)."""
    return _expect(_evaluate(exercise, answer), "incorrect", match)


def assert_check_unattempted(exercise: Exercise, answer=NotImplemented) -> Outcome:
    return _expect(_evaluate(exercise, answer), "not_attempted", None)


def assert_check_errored(exercise: Exercise, answer, match: str | None = None) -> Outcome:
    """The check must say 'error in your code' with ``match`` in 'TypeName: message'."""
    return _expect(_evaluate(exercise, answer), "error", match)


# --- answer banks ---------------------------------------------------------------------------------

class Status(str, Enum):
    """The outcome a bank entry expects (the engine's statuses)."""

    CORRECT = "correct"
    INCORRECT = "incorrect"
    NOT_ATTEMPTED = "not_attempted"
    ERROR = "error"


@dataclass(frozen=True)
class Right:
    """An answer the check must accept (an alternative idiom, a student's variant). ``name``
    makes the test id readable; by default the answer's own name."""

    answer: object
    name: str = ""


@dataclass(frozen=True)
class Wrong:
    """An answer the check must refuse with ``status`` and a message containing ``match``, and
    never containing ``absent`` (a misleading word: a fix the student did not need)."""

    answer: object
    match: str
    status: Status = Status.INCORRECT
    name: str = ""
    absent: str = ""

    def __post_init__(self):
        object.__setattr__(self, "status", Status(self.status))
        if self.status is Status.CORRECT:
            raise ValueError("a Wrong answer cannot expect 'correct': declare it Right")


def entry_name(entry, index: int) -> str:
    """A short test id for a bank entry: its ``name``, the answer's ``__name__``, or its index."""
    if entry.name:
        return entry.name
    name = getattr(entry.answer, "__name__", "")
    return name if name and name != "<lambda>" else str(index)


def judge_entry(exercise: Exercise, entry) -> Outcome:
    """Judge one bank entry (notebook inputs and a grader's fresh ones) and assert its outcome."""
    if isinstance(entry, Right):
        return assert_check_passed(exercise, entry.answer)
    if not isinstance(entry, Wrong):
        raise TypeError(f"a bank holds Right(...) and Wrong(...) entries, not {type(entry).__name__}")
    outcome = _expect(_evaluate(exercise, entry.answer), entry.status.value, entry.match or None)
    if entry.absent and entry.absent in outcome.message:
        raise AssertionError(f"{exercise.id}: the message must not say {entry.absent!r}: {outcome.message}")
    return outcome
