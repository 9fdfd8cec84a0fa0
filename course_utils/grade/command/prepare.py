"""Before anything runs: read each submission, refuse what is not a notebook, restore check cells.

Why by cell id: the release notebook is the only trusted copy of a check cell. Whatever the
student did to it (edited, deleted, moved above the answer, duplicated, tagged it
``raises-exception``), the prepared notebook carries the released cell again, placed where the
release puts it, and the change is reported, naming the file and the student's cell. Notebooks
without cell ids (Colab, nbformat 3 converted on reading) are matched by exercise metadata or
source instead, so losing ids is not mistaken for deleting the checks. What the restored cell
computes does not count either: after it the grader runs the exercise's check in its own
process, through probes (``verdicts``, ``judge``), so a redefined ``ex`` or a replaced
``check`` changes nothing; the restored cell only names the answer.

Before restoring clears the outputs, ``ran_with`` reads from them which course_utils the
notebook last ran with (the release line its set-up cell printed): shown on the row, never a grade.
"""

from __future__ import annotations

import copy
import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.warnings import MissingIDFieldWarning

from course_utils.grade.command.collect import readable
from course_utils.grade.records import CourseRelease, RanWith

IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+(\w+)|import\s+([\w.]+))"
                         r"\s+as\s+(\w+)\s*$", re.M)
CHECK_CALL = re.compile(r"^\s*(\w+)\.(q\d+)\.check\((.+)\)\s*$", re.S)   # ex.q1.check(answer)
LESSON = re.compile(r"^(\d\d)_")
COMPARED_METADATA = ("course", "tags")
CELL_TYPES = ("code", "markdown", "raw")


def exercise_of(cell) -> str | None:
    course = cell.get("metadata", {}).get("course")
    return course.get("exercise") if isinstance(course, dict) else None


@dataclass
class Release:
    """One released exercise notebook: its check cells and how they import their exercises."""

    path: Path
    nb: nbformat.NotebookNode
    checks: list = field(default_factory=list)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (line, module)

    @property
    def exercises(self) -> dict[str, int]:
        return {exercise_of(c): c.metadata["course"].get("points", 1) for c in self.checks}



def checked_modules(cells) -> set[str]:
    """The modules a notebook's check cells take their exercises from (``ex`` in
    ``ex.q1.check(answer)``, resolved through the notebook's ``import ... as ex``), and none of
    its other imports: the grader imports these and hides their solutions, and importing
    ``torch.nn.functional`` there only to find it has no solutions cost a second before the
    first kernel could start."""
    aliases = {}
    for cell in cells:
        for frm, name, plain, alias in IMPORT_LINE.findall(cell.get("source", "")):
            aliases[alias] = f"{frm}.{name}" if frm else plain
    calls = (CHECK_CALL.match(cell.get("source", "")) for cell in cells if exercise_of(cell))
    return {aliases[call.group(1)] for call in calls if call and call.group(1) in aliases}


def load_release(folder: Path) -> dict[str, Release]:
    """Release notebooks by lesson number ("03"), read from the exercises folder."""
    releases = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        match = LESSON.match(path.name)
        if not match:
            continue
        nb = nbformat.read(path, as_version=4)
        release = Release(path, nb, [c for c in nb.cells if exercise_of(c)])
        for cell in nb.cells:
            for frm, name, plain, alias in IMPORT_LINE.findall(cell.source):
                module = f"{frm}.{name}" if frm else plain
                release.imports[alias] = (_import_line(frm, name, plain, alias), module)
        releases[match.group(1)] = release
    return releases


def _import_line(frm, name, plain, alias) -> str:
    return f"from {frm} import {name} as {alias}" if frm else f"import {plain} as {alias}"


def read_submission(path: Path, name: str | None = None
                    ) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook (any nbformat nbformat can convert, as version 4), or None and the reason.

    ``name`` is how notes call the file (default: its readable name).
    """
    name = name or readable(path.name)
    if path.suffix.lower() != ".ipynb":
        return None, f"{name}: not a notebook file ({path.suffix or 'no extension'})"
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, f"{name}: could not be read ({error.strerror})"
    if not raw.strip():
        return None, f"{name}: empty file"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"{name}: not valid JSON (not UTF-8 text)"
    except json.JSONDecodeError as error:
        return None, f"{name}: not valid JSON (line {error.lineno}, column {error.colno})"
    if not isinstance(data, dict) or not (isinstance(data.get("cells"), list)
                                          or isinstance(data.get("worksheets"), list)):
        return None, f"{name}: JSON but not a Jupyter notebook (no list of cells)"
    try:
        with warnings.catch_warnings():  # a cell without an id is read all the same
            warnings.simplefilter("ignore", MissingIDFieldWarning)
            nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds on odd input
        version = data.get("nbformat")
        return None, (f"{name}: not a readable Jupyter notebook (nbformat {version!r}, "
                      f"{type(error).__name__})")
    for index, cell in enumerate(nb.get("cells", [])):
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES \
                or not isinstance(cell.get("source"), str):
            return None, f"{name}: cell {index + 1} is not a notebook cell (no type or no source)"
    return nb, ""


def normalised(source: str) -> str:
    """Source compared line by line without trailing spaces, line-ending style or blank edges."""
    return "\n".join(line.rstrip() for line in source.splitlines()).strip("\n")


def _same(cell, canonical) -> bool:
    """The released check cell: same source; metadata the same or lost (restored anyway)."""
    if cell.get("cell_type") != "code" or normalised(cell.source) != normalised(canonical.source):
        return False
    return all(not cell.metadata.get(k) or cell.metadata.get(k) == canonical.metadata.get(k)
               for k in COMPARED_METADATA)


def restore(student, release: Release, name: str = "") -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to run: the student's own cells, the released check cells put back.

    A check cell is recognised by its cell id, else its exercise metadata, else (a notebook
    from Colab or nbformat 3, a cell that lost its metadata) its source. Returns the notebook
    and the changes found, one line each, naming the file (``name``) and the student's cell
    ("03_x.ipynb: lesson03.q1: check cell edited (cell 7 "print(1)"); ...").
    """
    prefix = f"{name}: " if name else ""
    release_ids = {c.id for c in release.nb.cells}
    by_id = {c.id: c for c in release.checks}
    by_exercise = {exercise_of(c): c for c in release.checks}
    found: dict[str, list[tuple[int, object]]] = {e: [] for e in by_exercise}
    kept, reports = [], []
    for index, cell in enumerate(student.cells):
        canonical = by_id.get(cell.get("id")) or by_exercise.get(exercise_of(cell))
        if canonical is not None:
            found[exercise_of(canonical)].append((index, cell))
        elif exercise_of(cell):
            reports.append(f"{exercise_of(cell)}: unknown check cell removed "
                           f"({_where([(index, cell)])})")
        else:
            kept.append((index, cell))
    kept = _match_by_source(kept, found, by_exercise, release_ids)
    positions = _positions(student, release, {i for i, _ in kept}, release_ids)
    untouched = {}  # exercise -> the student's index of its intact, unmoved check cell
    for exercise, canonical in by_exercise.items():
        problem = _problem(found[exercise], canonical, release, positions)
        if problem:
            reports.append(f"{exercise}: check cell {problem}; the released one was restored")
        else:
            untouched[exercise] = found[exercise][0][0]
    prepared = copy.deepcopy(student)
    prepared.cells = [_cleared(c) for _, c in kept]
    origin = [i for i, _ in kept]  # the student's index of each prepared cell (None: restored)
    for canonical in release.checks:
        stay = untouched.get(exercise_of(canonical))
        at = _insert_at(origin, canonical, release, positions, stay)
        prepared.cells.insert(at, graded_check_cell(canonical, release))
        origin.insert(at, None)
    return prepared, [prefix + report for report in reports]


def _match_by_source(kept, found, by_exercise, release_ids):
    """Check cells without their id and metadata, found by source; returns the cells left.

    Only for an exercise no cell claimed by id or metadata, so a student who calls the check
    again in a cell of their own is not "duplicating" it.
    """
    missing = {normalised(c.source): e for e, c in by_exercise.items() if not found[e]}
    left = []
    for index, cell in kept:
        exercise = missing.get(normalised(cell.source)) if cell.get("cell_type") == "code" \
            and cell.get("id") not in release_ids else None
        if exercise:
            found[exercise].append((index, cell))
        else:
            left.append((index, cell))
    return left


def _positions(student, release, candidates, release_ids) -> dict[str, int]:
    """Where the student's notebook has each released cell other than a check: by id, else
    (no ids) by a source that occurs once in both notebooks, such as an untouched markdown cell.
    """
    others = [c for c in release.nb.cells if not exercise_of(c)]
    by_id = {cell.get("id"): i for i, cell in enumerate(student.cells) if i in candidates}
    positions = {c.id: by_id[c.id] for c in others if c.id in by_id}
    unclaimed = [i for i in sorted(candidates) if student.cells[i].get("id") not in release_ids]
    theirs = _unique_sources((student.cells[i], i) for i in unclaimed)
    ours = _unique_sources((c, c.id) for c in others if c.id not in positions)
    positions.update({ours[key]: theirs[key] for key in ours.keys() & theirs.keys()})
    return positions


def _unique_sources(cells) -> dict[tuple[str, str], object]:
    counted: dict[tuple[str, str], list] = {}
    for cell, label in cells:
        if cell.source.strip():
            counted.setdefault((cell.cell_type, normalised(cell.source)), []).append(label)
    return {key: labels[0] for key, labels in counted.items() if len(labels) == 1}


def _problem(copies, canonical, release, positions) -> str:
    """What happened to one check cell, naming the student's cells: "" when nothing did."""
    intact = [(i, c) for i, c in copies if _same(c, canonical)]
    if not copies:
        return "deleted"
    if not intact:
        return f"edited ({_where(copies)})"
    if len(copies) > 1:
        return f"duplicated ({_where(copies)})"
    index = intact[0][0]
    cells = release.nb.cells
    at = cells.index(canonical)
    before = [positions[c.id] for c in cells[:at] if c.id in positions]
    after = [positions[c.id] for c in cells[at + 1:] if c.id in positions]
    if (before and index < max(before)) or (after and index > min(after)):
        return f"moved ({_where(copies)})"
    return ""


def _where(copies) -> str:
    """``cell 7 "first line"`` for each cell: counted from 1, as the notebook shows them."""
    shown = []
    for index, cell in copies:
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        first = first if len(first) <= 60 else first[:57] + "..."
        shown.append(f'{index + 1} "{first}"')
    return ("cell " if len(shown) == 1 else "cells ") + ", ".join(shown)


def _insert_at(origin, canonical, release, positions, untouched) -> int:
    """Where the student had it, if untouched; else before the first later release cell the
    student still has, else at the end."""
    order = release.nb.cells
    later = {positions[c.id] for c in order[order.index(canonical) + 1:] if c.id in positions}
    for at, index in enumerate(origin):
        if index is not None and (index > untouched if untouched is not None else index in later):
            return at
    return len(origin)


def _cleared(cell):
    cell = copy.deepcopy(cell)
    if cell.get("cell_type") == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def graded_check_cell(canonical, release: Release):
    """The released check cell, exactly: under grading it only names the exercise and the
    answer; the verdict itself is asked for by the grader right after it (``plugin``)."""
    cell = nbformat.v4.new_code_cell(canonical.source, metadata=copy.deepcopy(canonical.metadata))
    cell.id = canonical.id
    return cell


_KINDS = {"graded": CourseRelease.GRADED, "self-study": CourseRelease.SELF_STUDY,
          "no solutions": CourseRelease.NO_SOLUTIONS}   # graded.ReleaseLine.kind -> the row's


def ran_with(student: str, lesson: str, nb) -> RanWith:
    """Which course_utils the notebook ran with, from the release line in its stored outputs
    (``course_utils.exercises.graded``); ``UNKNOWN`` without one (never run, outputs cleared,
    or a self-study notebook, whose set-up cell prints none). The line is the student's text:
    only its parts that pass ``RanWith``'s patterns reach the gradebook."""
    from course_utils.exercises import graded

    line = graded.ran_with(nb)
    parsed = graded.parse_release_line(line) if line else None
    if parsed is None:
        return RanWith.sanitised(student, lesson)
    kind = _KINDS.get(parsed.kind, CourseRelease.UNKNOWN)
    return RanWith.sanitised(student, lesson, kind.value, parsed.version, parsed.built, parsed.source)
