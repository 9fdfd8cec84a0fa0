"""The gradebook in the CSV layouts that Canvas and Moodle import (``--export canvas|moodle``).

One column per lesson (a lesson notebook is what an instructor publishes as one assignment),
points earned in it, and no total: both systems compute their own totals and refuse or ignore
an imported total. A lesson the student did not submit is an empty cell, not 0: whether a
missing notebook counts as 0 or as "excused" is the instructor's rule, not the grader's.

Students are known here only by their submission folder name. Each file puts it where the
system can match it (Canvas: ``SIS Login ID``; Moodle: a ``Student`` column the instructor maps
to username, email or ID number), and ``identities`` (folder name -> columns) fills in the
system's own ids when the instructor has them. docs/grading.md explains the layouts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path

KINDS = ("canvas", "moodle")
# Canvas's own gradebook export begins with these columns (and its second row is "Points
# Possible"); its importer reads the same layout and matches a student by one of the ids.
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("Student",)


def lesson_of(exercise_id: str) -> str:
    """``lesson03.q2`` -> ``lesson03``; the exercise id names its lesson module."""
    return exercise_id.split(".", 1)[0]


def lessons(book: dict) -> list[dict]:
    """The lessons of the gradebook in order: id, a readable name, exercises, maximum points.

    The name is the released notebook's stem (``03_sequential``) when any row's details give
    it, else the lesson id."""
    names: dict[str, str] = {}
    for row in book.get("students", []):
        for exercise, detail in (row.get("details") or {}).items():
            if isinstance(detail, dict) and isinstance(detail.get("lesson"), str) and detail["lesson"]:
                names.setdefault(lesson_of(exercise), detail["lesson"])
    result: dict[str, dict] = {}
    for exercise in book.get("exercises", []):
        lesson = lesson_of(exercise["id"])
        entry = result.setdefault(lesson, {"id": lesson, "name": names.get(lesson, lesson),
                                           "exercises": [], "maximum": 0})
        entry["exercises"].append(exercise["id"])
        entry["maximum"] += exercise.get("points") or 0
    return list(result.values())


def lesson_points(row: dict, lesson: dict):
    """Points of one student in one lesson, or ``None`` when nothing of it was submitted."""
    earned = [row.get("points", {}).get(e) for e in lesson["exercises"]]
    earned = [p for p in earned if p is not None]
    return _number(sum(earned)) if earned else None


def _number(value):
    """``3.0`` -> ``3``: integral points without a decimal point (both importers accept
    either, people reading the file prefer the short form)."""
    return int(value) if float(value).is_integer() else round(float(value), 4)


def printable(name: str) -> str:
    """A folder name as valid UTF-8 text: undecodable bytes (a zip from another system) become
    U+FFFD instead of stopping the export."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return name.encode("utf-8", "replace").decode("utf-8")


_FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def _cell(text: str) -> str:
    """Text for a spreadsheet cell: a leading ``=``, ``+``, ``-`` or ``@`` would be run as a
    formula by a spreadsheet opening the file, so it gets a leading apostrophe."""
    return "'" + text if _FORMULA_START.match(text) else text


def canvas_rows(book: dict, identities: Mapping[str, Mapping[str, str]] | None = None) -> list[list]:
    """Header, ``Points Possible`` row, one row per student (Canvas gradebook import)."""
    identities = identities or {}
    units = lessons(book)
    rows = [[*CANVAS_IDENTITY, *(u["name"] for u in units)],
            ["Points Possible", "", "", "", "", *(_number(u["maximum"]) for u in units)]]
    for row in book.get("students", []):
        name = printable(row["student"])
        known = identities.get(row["student"], {})
        identity = {"Student": name, "ID": "", "SIS User ID": "", "SIS Login ID": name,
                    "Section": ""}
        identity.update({k: v for k, v in known.items() if k in identity})
        points = [lesson_points(row, u) for u in units]
        rows.append([_cell(str(identity[c])) for c in CANVAS_IDENTITY]
                    + ["" if p is None else p for p in points])
    return rows


def moodle_rows(book: dict, identities: Mapping[str, Mapping[str, str]] | None = None) -> list[list]:
    """Header and one row per student (Moodle "Import grades: CSV file")."""
    identities = identities or {}
    units = lessons(book)
    rows = [[*MOODLE_IDENTITY, *(u["name"] for u in units)]]
    for row in book.get("students", []):
        known = identities.get(row["student"], {})
        student = known.get("Student", printable(row["student"]))
        points = [lesson_points(row, u) for u in units]
        rows.append([_cell(str(student))] + ["" if p is None else p for p in points])
    return rows


def write_export(book: dict, out_dir: Path, kind: str,
                 identities: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Write ``out_dir/<kind>.csv`` (UTF-8, comma separated) and return its path.

    ``identities`` maps a submission folder name to the system's identity columns (Canvas:
    ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, ``Student``; Moodle:
    ``Student``); students not in it keep their folder name."""
    makers = {"canvas": canvas_rows, "moodle": moodle_rows}
    if kind not in makers:
        raise ValueError(f"unknown export {kind!r}; choose one of {', '.join(KINDS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{kind}.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(makers[kind](book, identities))
    return path
