"""What every exercise of every lesson must satisfy, tested once for all of them.

Each ``course_utils/exercises/lessonNN.py`` module is found on disk (a new lesson is tested
without editing this file), and each ``Exercise`` bound to a module attribute is checked: its
reference answer (built from the solution text by ``reference_answer()``) passes, the release
stub ``NotImplemented`` is "not attempted", it has at least two hints, a title, a "why" line and
a solution, and its id names its own module and attribute (``lesson03.q2`` is ``lesson03.q2``).

Then every answer bank (``tests/exercise_answers/lessonNN.py``, ``BANK = {"q1": [Right(...),
Wrong(...)], ...}``) is run: each right answer passes and each wrong one gets its status and
message, on the notebook's inputs and on a grader's fresh ones (``testing.judge_entry``).
"""

import importlib
import importlib.util
from pathlib import Path

import pytest

import course_utils.exercises
from course_utils.exercises.engine import Exercise
from course_utils.exercises.testing import (Right, Wrong, assert_check_passed, assert_check_unattempted,
                                            entry_name, judge_entry)

LESSONS = sorted(path.stem for path in Path(course_utils.exercises.__file__).parent.glob("lesson[0-9][0-9].py"))
BANKS = Path(__file__).resolve().parents[1] / "exercise_answers"


def exercises():
    found = []
    for lesson in LESSONS:
        module = importlib.import_module(f"course_utils.exercises.{lesson}")
        found += [(lesson, name, value) for name, value in vars(module).items() if isinstance(value, Exercise)]
    return found


EXERCISES = exercises()
IDS = [f"{lesson}.{name}" for lesson, name, _ in EXERCISES]


def test_every_lesson_module_has_exercises():
    assert len(LESSONS) >= 8
    assert {lesson for lesson, _, _ in EXERCISES} == set(LESSONS)


@pytest.mark.parametrize("lesson, name, exercise", EXERCISES, ids=IDS)
def test_id_names_its_module_and_attribute(lesson, name, exercise):
    assert exercise.id == f"{lesson}.{name}"


@pytest.mark.parametrize("lesson, name, exercise", EXERCISES, ids=IDS)
def test_reference_answer_passes(lesson, name, exercise):
    assert_check_passed(exercise, exercise.reference_answer())


@pytest.mark.parametrize("lesson, name, exercise", EXERCISES, ids=IDS)
def test_release_stub_is_not_attempted(lesson, name, exercise):
    assert_check_unattempted(exercise, NotImplemented)


@pytest.mark.parametrize("lesson, name, exercise", EXERCISES, ids=IDS)
def test_hints_title_why_and_solution(lesson, name, exercise):
    assert len(exercise.hints) >= 2 and all(hint.strip() for hint in exercise.hints)
    assert exercise.title.strip() and exercise.why.strip()
    assert exercise.solution_code.strip()
    assert exercise.solution().code == exercise.solution_code
    last = len(exercise.hints)
    assert str(exercise.hint(last)).startswith(f"? Hint {last} of {last} — {exercise.id}")


# --- the answer banks -------------------------------------------------------------------------------

def banks() -> dict[str, dict]:
    """{"lesson01": BANK of tests/exercise_answers/lesson01.py, ...}, loaded by path."""
    found = {}
    for path in sorted(BANKS.glob("lesson[0-9][0-9].py")):
        spec = importlib.util.spec_from_file_location(f"exercise_answers_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found[path.stem] = module.BANK
    return found


BANK = banks()
ENTRIES = [(lesson, name, entry) for lesson, bank in BANK.items() for name, entries in bank.items()
           for entry in entries]
ENTRY_IDS = [f"{lesson}.{name}-{'right' if isinstance(entry, Right) else 'wrong'}-{entry_name(entry, i)}"
             for i, (lesson, name, entry) in enumerate(ENTRIES)]


def test_every_bank_covers_its_lesson_with_three_right_and_three_wrong_answers():
    assert BANK, "no answer bank found"
    for lesson, bank in BANK.items():
        module = importlib.import_module(f"course_utils.exercises.{lesson}")
        assert set(bank) == {name for name, value in vars(module).items() if isinstance(value, Exercise)}, lesson
        for name, entries in bank.items():
            right = [e for e in entries if isinstance(e, Right)]
            wrong = {e.match for e in entries if isinstance(e, Wrong)}
            assert len(right) >= 3 and len(wrong) >= 3, f"{lesson}.{name}: {len(right)} right, {len(wrong)} wrong"


@pytest.mark.parametrize("lesson, name, entry", ENTRIES, ids=ENTRY_IDS)
def test_bank_answer(lesson, name, entry):
    exercise = getattr(importlib.import_module(f"course_utils.exercises.{lesson}"), name)
    judge_entry(exercise, entry)
