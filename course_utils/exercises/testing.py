"""Assertions for authors' tests of exercise checks (the learntools idea, with four outcomes).

    from course_utils.exercises import lesson03 as ex
    from course_utils.exercises.testing import assert_check_passed, assert_check_failed
    assert_check_passed(ex.q1, MySequentialStack)
    assert_check_failed(ex.q1, StackWithoutRelu, match="ReLU")

Each helper evaluates the check without displaying anything (so it ignores
``COURSE_GRADING``), returns the ``Outcome`` for further asserts, and on a surprise
says what the check really said, with the underlying traceback when the answer errored:
an engine bug must not hide behind "error in your code".
"""

from __future__ import annotations

import traceback

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
