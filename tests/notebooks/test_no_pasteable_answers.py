"""No exercise is solved by pasting a lesson cell.

Every class and function a lesson notebook defines (notebooks/NN_*.ipynb, each version of a
name that is defined twice) is handed to every check of that lesson's exercises: none may be
told "Correct". An exercise must ask for a transfer (other sizes, a twist the lesson did not
show), not for a copy (docs/exercises.md, "Transfer, not copying").

How the definitions are gathered: the notebook's code cells run statement by statement in one
namespace, in a child process (the lessons' state stays out of this one); a statement that fails
is skipped, and one that runs longer than a few seconds (a training loop) is stopped and skipped
too: definitions never need it, and the checks build their own inputs. Lesson 00 is left out:
*Start here* solves its exercise q0 in front of the student on purpose.

    python tests/notebooks/test_no_pasteable_answers.py 04     # what passes, as JSON
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib
import io
import json
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSONS = [f"{n:02d}" for n in range(1, 9)]
STATEMENT_SECONDS = 5


class _TooSlow(BaseException):
    """A statement ran past its budget (a BaseException: notebook code's ``except Exception`` lets it through)."""


def _on_alarm(signum, frame):
    raise _TooSlow


def lesson_definitions(lesson: str) -> tuple[list[tuple[str, object]], list[str]]:
    """(label, object) for every class and function the lesson notebook defines, and the
    statements that were skipped (failed or too slow), as 'cell N: reason'."""
    import nbformat

    path = next((ROOT / "notebooks").glob(f"{lesson}_*.ipynb"))
    notebook = nbformat.read(path, as_version=4)
    namespace = {"__name__": f"lesson_{lesson}"}
    found, skipped = [], []
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        _run_cells(notebook, path, namespace, found, skipped)
    finally:
        signal.signal(signal.SIGALRM, previous)
    return found, skipped


def _run_cells(notebook, path, namespace, found, skipped) -> None:
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            statements = ast.parse(cell.source).body
        except SyntaxError as error:   # IPython magics: nothing to define
            skipped.append(f"cell {number}: {error.msg}")
            continue
        for statement in statements:
            code = compile(ast.Module([statement], type_ignores=[]), f"<{path.name}, cell {number}>", "exec")
            try:
                signal.setitimer(signal.ITIMER_REAL, STATEMENT_SECONDS)
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    exec(code, namespace)
            except _TooSlow:
                skipped.append(f"cell {number}, line {statement.lineno}: longer than {STATEMENT_SECONDS} s")
            except BaseException as error:  # noqa: BLE001 - a failing statement is skipped
                skipped.append(f"cell {number}, line {statement.lineno}: {type(error).__name__}")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if isinstance(statement, (ast.FunctionDef, ast.ClassDef)) and statement.name in namespace:
                found.append((f"cell {number}: {statement.name}", namespace[statement.name]))


def exercises_of(lesson: str) -> list:
    from course_utils.exercises.engine import Exercise

    module = importlib.import_module(f"course_utils.exercises.lesson{lesson}")
    return [value for name, value in sorted(vars(module).items())
            if isinstance(value, Exercise) and name.startswith("q")]


def passing_definitions(lesson: str) -> dict:
    """{exercise id: [definitions its check calls correct]}, with what was tried and skipped."""
    definitions, skipped = lesson_definitions(lesson)
    results = {}
    for exercise in exercises_of(lesson):
        results[exercise.id] = [label for label, answer in definitions
                                if exercise.evaluate(answer).status == "correct"]
    return {"passing": results, "tried": [label for label, _ in definitions], "skipped": skipped}


@functools.cache
def lesson_report(lesson: str) -> dict:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("COURSE_GRADING", None)
    done = subprocess.run([sys.executable, __file__, lesson], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, f"lesson {lesson}: the definitions could not be tried\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_every_lesson_defines_something_to_try():
    """The harness itself: lesson 04 defines `rename_keys`, lesson 02 a dozen classes."""
    definitions, _ = lesson_definitions("04")
    assert [label for label, _ in definitions] == ["cell 33: rename_keys"]


@pytest.mark.slow
@pytest.mark.parametrize("exercise_id", [e.id for lesson in LESSONS for e in exercises_of(lesson)])
def test_no_lesson_definition_passes_an_exercise(exercise_id):
    report = lesson_report(exercise_id[6:8])
    assert report["tried"], f"lesson {exercise_id[6:8]}: no definition found to try"
    passing = report["passing"][exercise_id]
    assert not passing, (f"{exercise_id} is solved by pasting the lesson's {', '.join(passing)}: "
                         "change the exercise so that it needs a transfer, not a copy")


if __name__ == "__main__":
    report = passing_definitions(sys.argv[1])
    sys.stdout.flush()
    print(json.dumps(report))
