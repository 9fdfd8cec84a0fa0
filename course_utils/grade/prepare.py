"""Before anything runs: read each submission, refuse what is not a notebook, restore check cells.

Why by cell id: the release notebook is the only trusted copy of a check cell. Whatever the
student did to it (edited, deleted, moved above the answer, duplicated, tagged it
``raises-exception``), the prepared notebook carries the released cell again, placed where the
release puts it, and the change is reported. What the restored cell computes does not count
either: the grader asks the kernel for a sealed verdict after it (``plugin``, ``guard``), so a
redefined ``ex`` or a replaced ``check`` in earlier cells changes nothing.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

IMPORT_LINE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\s+(\w+)|import\s+([\w.]+))"
                         r"\s+as\s+(\w+)\s*$", re.M)
LESSON = re.compile(r"^(\d\d)_")
COMPARED_METADATA = ("course", "tags")


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

    def imports_for(self, source: str) -> list[tuple[str, str]]:
        return [self.imports[name] for name in self.imports
                if re.search(rf"\b{re.escape(name)}\.", source)]


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


def read_submission(path: Path) -> tuple[nbformat.NotebookNode | None, str]:
    """The notebook, or None and the reason it cannot be graded."""
    if path.suffix != ".ipynb":
        return None, f"{path.name}: not a notebook file ({path.suffix or 'no extension'})"
    raw = path.read_bytes()
    if not raw.strip():
        return None, f"{path.name}: empty file"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, f"{path.name}: not valid JSON (not UTF-8 text)"
    except json.JSONDecodeError as error:
        return None, f"{path.name}: not valid JSON (line {error.lineno}, column {error.colno})"
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return None, f"{path.name}: JSON but not a Jupyter notebook (no list of cells)"
    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds on odd input
        return None, f"{path.name}: not a readable Jupyter notebook ({type(error).__name__})"
    return nb, ""


def lesson_of(path: Path, releases: dict[str, Release]) -> str | None:
    match = LESSON.match(path.name)
    return match.group(1) if match and match.group(1) in releases else None


def _same(cell, canonical) -> bool:
    if cell.get("cell_type") != "code" or cell.source.strip() != canonical.source.strip():
        return False
    return all(cell.metadata.get(k) == canonical.metadata.get(k) for k in COMPARED_METADATA)


def restore(student, release: Release) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to run: the student's own cells, the released check cells put back.

    Returns it with the changes found, one line each ("lesson03.q1: check cell edited; ...").
    """
    by_id = {c.id: c for c in release.checks}
    by_exercise = {exercise_of(c): c for c in release.checks}
    found: dict[str, list[tuple[int, object]]] = {e: [] for e in by_exercise}
    kept, reports = [], []
    for index, cell in enumerate(student.cells):
        canonical = by_id.get(cell.get("id")) or by_exercise.get(exercise_of(cell))
        if canonical is not None:
            found[exercise_of(canonical)].append((index, cell))
        elif exercise_of(cell):
            reports.append(f"{exercise_of(cell)}: unknown check cell removed")
        else:
            kept.append(cell)
    positions = {c.get("id"): i for i, c in enumerate(student.cells)}
    for exercise, canonical in by_exercise.items():
        problem = _problem(found[exercise], canonical, release, positions)
        if problem:
            reports.append(f"{exercise}: check cell {problem}; the released one was restored")
    prepared = copy.deepcopy(student)
    prepared.cells = [_cleared(c) for c in kept]
    for canonical in release.checks:
        prepared.cells.insert(_insert_at(prepared.cells, canonical, release),
                              graded_check_cell(canonical, release))
    return prepared, reports


def _problem(copies, canonical, release, positions) -> str:
    intact = [(i, c) for i, c in copies if _same(c, canonical)]
    if not copies:
        return "deleted"
    if not intact:
        return "edited"
    if len(copies) > 1:
        return "duplicated"
    index = intact[0][0]
    cells = release.nb.cells
    at = cells.index(canonical)
    before = [positions[c.id] for c in cells[:at] if not exercise_of(c) and c.id in positions]
    after = [positions[c.id] for c in cells[at + 1:] if not exercise_of(c) and c.id in positions]
    if (before and index < max(before)) or (after and index > min(after)):
        return "moved"
    return ""


def _insert_at(cells, canonical, release) -> int:
    """Before the first later release cell the student still has, else at the end."""
    order = release.nb.cells
    later = {c.id for c in order[order.index(canonical) + 1:] if not exercise_of(c)}
    for index, cell in enumerate(cells):
        if cell.get("id") in later:
            return index
    return len(cells)


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
