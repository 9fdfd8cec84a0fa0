"""Release: regenerate ``exercises/`` from ``solutions/``, the one source of every exercise.

    python -m course_utils.exercises.release           # write exercises/NN_*.ipynb
    python -m course_utils.exercises.release --check   # exit 1, naming stale files, if out of date
    python -m course_utils.exercises.release --graded build/graded-release   # the graded release
    python -m course_utils.exercises.release --publish-solutions build/solutions   # after the deadline

The same through ``python -m course_utils release``, ``release-graded FOLDER`` and
``publish-solutions FOLDER`` (course_utils/__main__.py).

What changes on the way (docs/CONVENTIONS.md): code between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` becomes a stub the student recognises and that runs without error;
outputs and execution counts are cleared; cells marked ``{"course": {"hidden": true}}`` go;
cell ids and check cells stay exactly as they are (the grader restores check cells by id),
except their points, which are declared once, on the exercise class (``points = 2``): the
release writes them into each check cell's metadata, where the grader reads them, and stops
when a solutions notebook states other points than the class.
Any doubt about the source (unbalanced markers, a check cell without a proper exercise id,
an id used twice or unknown to the engine) stops the release before anything is written,
with a message naming the notebook and the cell: a half-released course is worse than none.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib
import importlib.util
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from course_utils.notebooks import ROOT, normalise

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB_COMMENT = "# YOUR CODE HERE"
EXERCISE_ID = re.compile(r"lesson(\d\d)\.(q\d+)")
CHECK_CALL = re.compile(r"\b(q\d+)\.check\(")


class ReleaseError(Exception):
    """Problems in the solutions notebooks; ``problems`` lists every one found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class Released:
    source: Path
    target: Path
    text: str


# --- solution blocks -> stubs ---------------------------------------------------------------

def _marker(line: str) -> str | None:
    stripped = line.strip()
    return stripped if stripped in (BEGIN, END) else None


def stub_source(source: str) -> str:
    """Replace every solution block of one cell's source by its stub (raises ValueError)."""
    lines, out, block, indent = source.splitlines(), [], None, ""
    for number, line in enumerate(lines, start=1):
        marker = _marker(line)
        if marker == BEGIN:
            if block is not None:
                raise ValueError(f"line {number}: '{BEGIN}' inside another solution block (nested markers)")
            block, indent = [], line[: len(line) - len(line.lstrip())]
        elif marker == END:
            if block is None:
                raise ValueError(f"line {number}: '{END}' without a '{BEGIN}' before it")
            out.extend(_stub(block, indent, number))
            block = None
        elif block is not None:
            block.append(line)
        else:
            out.append(line)
    if block is not None:
        raise ValueError(f"'{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def _stub(block: list[str], indent: str, end_line: int) -> list[str]:
    if indent:
        return [indent + STUB_COMMENT, indent + "raise NotImplementedError"]
    try:
        tree = ast.parse("\n".join(block))
    except SyntaxError as error:
        raise ValueError(f"the solution block ending on line {end_line} is not valid Python on its own "
                         f"({error.msg}, block line {error.lineno})") from None
    return [STUB_COMMENT] + [f"{name} = NotImplemented" for name in defined_names(tree.body)]


def defined_names(statements) -> list[str]:
    """Names bound at module level by ``statements`` (classes, defs, assignment targets), in order."""
    names: list[str] = []
    for node in statements:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                names.extend(_target_names(target))
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            names.extend(_target_names(node.target))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            names.extend(_target_names(node.target))
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)):
            for body in ("body", "orelse", "finalbody"):
                names.extend(defined_names(getattr(node, body, [])))
            for handler in getattr(node, "handlers", []):
                names.extend(defined_names(handler.body))
    return list(dict.fromkeys(names))


def _target_names(target) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names(element)]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    return []  # attribute or subscript: binds no new name


# --- check cells ----------------------------------------------------------------------------

def _course(cell) -> dict:
    meta = cell.get("metadata", {}).get("course", {})
    return meta if isinstance(meta, dict) else {}


def is_check_cell(cell) -> bool:
    return cell.cell_type == "code" and ("exercise" in _course(cell) or "points" in _course(cell)
                                         or bool(CHECK_CALL.search(cell.source)))


def exercise_problem(exercise_id: str, called: str | None) -> str | None:
    """Why ``exercise_id`` (called as ``ex.<called>.check``) is not a known exercise, or None."""
    match = EXERCISE_ID.fullmatch(exercise_id)
    attribute = match.group(2)
    if called is not None and called != attribute:
        return f"its metadata says {exercise_id!r} but its source calls {called}.check(...)"
    module_name = f"course_utils.exercises.lesson{match.group(1)}"
    if importlib.util.find_spec(module_name) is None:
        return f"exercise {exercise_id!r}: there is no module {module_name}"
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # noqa: BLE001 - a broken lesson module must be reported, not crash
        return f"exercise {exercise_id!r}: importing {module_name} failed ({type(error).__name__}: {error})"
    from course_utils.exercises.engine import Exercise

    exercise = getattr(module, attribute, None)
    if not isinstance(exercise, Exercise) or exercise.id != exercise_id:
        return f"exercise {exercise_id!r}: {module_name}.{attribute} is not an exercise with that id"
    return None


# --- one notebook ---------------------------------------------------------------------------

def release_notebook(source: Path, target: Path) -> Released:
    """The released text of one solutions notebook; raises ReleaseError listing every problem."""
    try:
        nb = nbformat.read(source, as_version=4)
    except Exception as error:  # noqa: BLE001 - unreadable source: report it like the others
        raise ReleaseError([f"{source}: not a readable notebook ({error})"]) from None
    problems, seen, cells = [], {}, []
    for index, cell in enumerate(nb.cells):
        where = f"{source}, cell {index + 1} (index {index}, id {cell.get('id')!r})"
        if not cell.get("id"):
            problems.append(f"{where}: the cell has no id (save the notebook with nbformat 4.5 or later)")
        if _course(cell).get("hidden") is True:
            continue
        problem = _cell_problem(cell, seen, where)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        released = copy.deepcopy(cell)
        if cell.cell_type == "code":
            if is_check_cell(cell):
                released.metadata["course"]["points"] = declared_points(_course(cell)["exercise"])
            else:
                released.source = stub_source(cell.source)
            released.outputs, released.execution_count = [], None
        cells.append(released)
    if problems:
        raise ReleaseError(problems)
    nb.cells = cells
    normalise(nb)
    nbformat.validate(nb)
    text = nbformat.writes(nb)
    return Released(source, target, text if text.endswith("\n") else text + "\n")


def _cell_problem(cell, seen: dict, where: str) -> str | None:
    has_marker = any(_marker(line) for line in cell.source.splitlines())
    if cell.cell_type != "code":
        return "solution markers are only allowed in code cells" if has_marker else None
    if not is_check_cell(cell):
        try:
            stub_source(cell.source)
        except ValueError as error:
            return str(error)
        return None
    if has_marker:
        return "a check cell must not contain solution markers"
    meta = _course(cell)
    exercise_id = meta.get("exercise")
    if not exercise_id:
        return 'check cell without an exercise id (cell metadata {"course": {"exercise": "lessonNN.qK", "points": N}})'
    if not isinstance(exercise_id, str) or not EXERCISE_ID.fullmatch(exercise_id):
        return f"malformed exercise id {exercise_id!r}: expected 'lessonNN.qK', e.g. 'lesson03.q1'"
    points = meta.get("points")
    if "points" in meta and not _positive_int(points):
        return f"exercise {exercise_id!r}: points must be a positive whole number, not {points!r}"
    if exercise_id in seen:
        return f"exercise id {exercise_id!r} is used twice (also in {seen[exercise_id]})"
    seen[exercise_id] = where
    called = CHECK_CALL.search(cell.source)
    return exercise_problem(exercise_id, called.group(1) if called else None) or \
        points_problem(exercise_id, meta)


# --- points: declared once, on the exercise class -------------------------------------------

def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def declared_points(exercise_id: str) -> int:
    """The points the exercise class declares (``points = 2``): what the release writes into the
    released check cell's metadata, where the grader reads them."""
    lesson, attribute = EXERCISE_ID.fullmatch(exercise_id).groups()
    return getattr(importlib.import_module(f"course_utils.exercises.lesson{lesson}"), attribute).points


def points_problem(exercise_id: str, meta: dict) -> str | None:
    """Why the points of a check cell disagree with its exercise class, or None.

    Points are declared once, on the class: the student is told them by ``check()`` and graded
    with what the release writes into the cell. A solutions notebook may leave them out (the
    release sets them); if it states them, they must be the class's."""
    lesson, attribute = EXERCISE_ID.fullmatch(exercise_id).groups()
    where = f"course_utils.exercises.lesson{lesson}.{attribute}"
    declared = declared_points(exercise_id)
    if not _positive_int(declared):
        return f"exercise {exercise_id!r}: {where}.points must be a positive whole number, not {declared!r}"
    if "points" in meta and meta["points"] != declared:
        return (f"exercise {exercise_id!r}: the cell's metadata says \"points\": {meta['points']}, but {where} "
                f"declares points = {declared}. Points are declared once, on the exercise class: remove "
                "\"points\" from the cell's metadata (the release writes it) or make the two agree.")
    return None


# --- the whole course -----------------------------------------------------------------------

def plan(root: Path = ROOT) -> tuple[list[Released], list[Path]]:
    """Every released notebook (in memory) and the exercise files that have no source."""
    sources = sorted((root / "solutions").glob("*.ipynb"))
    released, problems = [], []
    for source in sources:
        try:
            released.append(release_notebook(source, root / "exercises" / source.name))
        except ReleaseError as error:
            problems.extend(error.problems)
    if problems:
        raise ReleaseError(problems)
    names = {s.name for s in sources}
    orphans = sorted(p for p in (root / "exercises").glob("*.ipynb") if p.name not in names)
    return released, orphans


def stale(released: list[Released]) -> list[Path]:
    return [r.target for r in released
            if not r.target.exists() or r.target.read_text(encoding="utf-8") != r.text]


def main(argv: list[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.exercises.release", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if exercises/ is stale")
    parser.add_argument("--graded", metavar="FOLDER", type=Path,
                        help="write the graded release (notebooks and a wheel without solutions) into FOLDER "
                             "instead; see docs/graded_course.md")
    parser.add_argument("--solutions-published", metavar="WHEN",
                        help='with --graded: when the solutions come out, as solution() says it ("on 14 March")')
    parser.add_argument("--publish-solutions", metavar="FOLDER", type=Path,
                        help="write the solution notebooks and the self-study wheel into FOLDER (after the deadline)")
    parser.add_argument("--summary", metavar="FILE", type=Path,
                        help="with --graded: also write the build's figures (what was recorded, from which tests) as JSON")
    args = parser.parse_args(argv)
    if args.graded or args.publish_solutions:
        return _other_release(args, root)
    try:
        released, orphans = plan(root)
    except ReleaseError as error:
        print("release stopped, nothing written:\n" + textwrap.indent(str(error), "  "), file=sys.stderr)
        return 2
    out_of_date = stale(released)
    if args.check:
        for path in out_of_date:
            print(f"stale: {path} (run: python -m course_utils.exercises.release)")
        for path in orphans:
            print(f"stale: {path} has no source in solutions/ (delete it)")
        if not out_of_date and not orphans:
            print(f"{len(released)} exercise notebooks up to date")
        return 1 if out_of_date or orphans else 0
    (root / "exercises").mkdir(exist_ok=True)
    for item in released:
        if item.target in out_of_date:
            item.target.write_text(item.text, encoding="utf-8")
            print(f"released {item.target}")
    for path in orphans:
        print(f"warning: {path} has no source in solutions/ (delete it)")
    print(f"{len(released)} exercise notebooks released, {len(out_of_date)} changed")
    return 1 if orphans else 0


def _other_release(args, root: Path) -> int:
    """``--graded`` and ``--publish-solutions`` (course_utils.exercises.graded_release)."""
    from course_utils.exercises import graded_release

    try:
        if args.publish_solutions:
            done = graded_release.publish(args.publish_solutions, root)
            print(f"published {done['notebooks']} solution notebooks and {done['wheel']} into {args.publish_solutions}")
        if args.graded:
            summary = graded_release.build(args.graded, root, published=args.solutions_published)
            print(graded_release.report(summary, args.graded))
            if args.summary:
                args.summary.write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    except ReleaseError as error:
        print("release stopped, nothing written:\n" + textwrap.indent(str(error), "  "), file=sys.stderr)
        return 2
    except FileExistsError as error:
        print(f"release stopped, nothing written: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
