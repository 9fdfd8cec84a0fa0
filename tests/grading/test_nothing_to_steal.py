"""What a grading kernel can read of the course holds no solution of any exercise.

The sandbox binds the installed ``course_utils`` read-only and hides the instructor's side
(``course_solutions``, the modules named in ``COURSE_GRADING_SOLUTIONS``). This test lists every
file under the package folder a kernel sees and searches it for the distinctive lines of every
exercise's solution; the sandbox test beside it proves the solutions package itself is hidden.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from course_utils.exercises.engine import Exercise
from course_utils.grade.launcher import sandbox, sandbox_layout

LESSONS = sorted(p.stem for p in (Path(sandbox_layout.package_folder()) / "exercises").glob("lesson[0-9][0-9].py"))


def code_lines(text: str) -> list[str]:
    """The lines of code, stripped, without blank lines and comments."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def contains_block(haystack: list[str], block: list[str]) -> bool:
    """``block`` appears in ``haystack`` as consecutive lines (indentation ignored)."""
    width = len(block)
    return any(haystack[i:i + width] == block for i in range(len(haystack) - width + 1))


def exercises():
    for lesson in LESSONS:
        module = importlib.import_module(f"course_utils.exercises.{lesson}")
        yield from (value for value in vars(module).values() if isinstance(value, Exercise))


def kernel_visible_files() -> list[Path]:
    """Every file a grading kernel can read under the installed course_utils."""
    hidden = [Path(p).resolve() for p in sandbox.solution_paths()]
    root = Path(sandbox_layout.package_folder())
    return [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
            and not any(p.resolve() == h or h in p.resolve().parents for h in hidden)]


def test_every_exercise_has_a_solution_on_the_instructor_s_side():
    found = list(exercises())
    assert len(found) >= 38
    assert all(exercise.solution_code.strip() for exercise in found)


def test_no_file_a_kernel_can_read_holds_solution_code():
    """No solution, nor any class or function of one, stands in a file a kernel can read, not
    even renamed (its body under another name: a check's reference written as the solution).
    (Single lines do: a debugging exercise shows the broken code, a last hint the fixed line.)"""
    files = {path: code_lines(path.read_text(errors="replace")) for path in kernel_visible_files()}
    assert len(files) > 40
    leaks = []
    for exercise in exercises():
        solution = exercise.solution_code
        parts = [code_lines(part) for part in definitions(solution)]
        blocks = [code_lines(solution)] + parts + [part[1:] for part in parts]
        for path, lines in files.items():
            leaks += [f"{exercise.id}: {block[0]!r} ({len(block)} lines) in {path.name}"
                      for block in blocks if len(block) >= 3 and contains_block(lines, block)]
    assert leaks == []


def definitions(source: str) -> list[str]:
    """The source of each top-level class and function a solution defines."""
    import ast

    tree = ast.parse(source)
    return [ast.get_source_segment(source, node) for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef))]


def test_the_solutions_package_is_among_the_hidden_paths():
    hidden = [Path(p).resolve() for p in sandbox.solution_paths()]
    solutions = Path(importlib.import_module("course_solutions").__file__).resolve().parent
    assert solutions in hidden


@pytest.mark.parametrize("lesson", LESSONS)
def test_a_lesson_imports_where_no_solution_is_installed(lesson, monkeypatch, tmp_path):
    """The public modules load in a kernel that has no solutions; ``solution()`` says so."""
    import subprocess
    import sys

    code = (f"import sys; sys.modules['course_solutions'] = None\n"
            f"from course_utils.exercises import {lesson} as ex\n"
            "print(ex.q1.solution().heading)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == f"No solution here — {lesson}.q1"


def test_the_solutions_to_hide_are_named_without_importing_the_exercises(monkeypatch, tmp_path):
    """Kernels start before the grading process imports the exercises (and torch), so the
    solution modules the launcher hides are read from the exercise modules' source."""
    import sys

    from course_utils.grade.contract import EXERCISES, SOLUTIONS
    from course_utils.grade.pytest_side import judge

    (tmp_path / "declares_solutions.py").write_text('raise SystemExit("imported")\nSOLUTIONS = "hidden_answers"\n')
    (tmp_path / "plain_lesson.py").write_text('raise SystemExit("imported")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(EXERCISES, "")
    judge.announce("declares_solutions,plain_lesson,no_such_module,course_utils.exercises.lesson03")
    assert sorted(__import__("os").environ[SOLUTIONS].split(",")) == [
        "course_solutions.lesson03", "course_solutions.plain_lesson", "hidden_answers"]
    assert "declares_solutions" not in sys.modules and "plain_lesson" not in sys.modules
    for name in LESSONS:    # the same answer as the engine's, for every lesson
        module = f"course_utils.exercises.{name}"
        importlib.import_module(module)
        from course_utils.exercises.engine import solutions_module

        assert judge.solutions_of(module) == solutions_module(module)
