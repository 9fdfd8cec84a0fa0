"""From grading records to a gradebook (CSV and JSON), and merging shard gradebooks.

Records (``records.CheckResult`` and ``records.Note``) come from the pytest plugin and from the
instructor command's own stages (collect, validate, restore); a *gradebook* is the JSON-ready
dict built here once, at the end: the exercises with their points, and one row per student.
A row also says which course_utils each of its notebooks ran with (``ran_with``, by lesson:
graded release, self-study, ...); that is shown, never counted.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from course_utils.grade.contract import Fault
from course_utils.grade.records import CheckResult, Note, RanWith, Row, ran_with_label


def exercise_sort_key(exercise_id: str):
    """lesson03.q10 after lesson03.q2: numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", exercise_id)]


def add(rows: dict[str, Row], record: CheckResult | Note | RanWith) -> None:
    """Fold one record into the rows. An exercise earns its points only if every one of its
    check cells passed, so a duplicated check cell can never add points."""
    row = rows.setdefault(record.student, Row(record.student))
    if isinstance(record, RanWith):
        row.ran_with.setdefault(record.lesson, record)
        return
    if isinstance(record, Note):
        row.note(record.text)
        row.flagged |= record.flagged
        row.failed_to_run |= record.failed_to_run
        if record.fault is not None:
            row.failed(record.lesson, record.fault, record.text)
        return
    results = row.results.setdefault(record.exercise, [])
    results.append(record)
    if len(results) == 2:
        row.note(f"{record.exercise}: more than one check cell; graded as not correct unless all pass")
    if record.status == "fault":
        row.failed_to_run = True
        row.failed(record.lesson, record.fault or Fault.STOPPED, f"{record.exercise}: {record.reason}")
        if not any(record.reason in note for note in row.notes):
            row.note(f"{record.exercise}: {record.reason}")


def _detail(results: list[CheckResult]) -> dict:
    shown = next((r for r in results if r.status != "correct"), results[0])
    return {"status": str(shown.status), "reason": shown.reason, "message": shown.message,
            "points": shown.maximum, "lesson": shown.lesson,
            "fault": shown.fault.value if shown.fault else ""}


def build(rows: dict[str, Row], exercises: dict[str, float] | None = None) -> dict:
    """The gradebook: every known exercise is a column, totals and maximum filled in."""
    exercises = dict(exercises or {})
    for row in rows.values():
        for exercise, results in row.results.items():
            exercises.setdefault(exercise, results[0].maximum)
    ordered = sorted(exercises, key=exercise_sort_key)
    students = []
    for name in sorted(rows):
        row = rows[name]
        points = {e: (min(r.earned for r in row.results[e]) if e in row.results else None)
                  for e in ordered}
        students.append({"student": name, "key": row.key or name, "points": points,
                         "details": {e: _detail(r) for e, r in row.results.items()},
                         "notes": list(row.notes), "flagged": row.flagged,
                         "failed_to_run": row.failed_to_run, "failures": list(row.failures),
                         "ran_with": {lesson: _ran_with(r) for lesson, r in sorted(row.ran_with.items())},
                         "total": sum(v for v in points.values() if v)})
    return {"exercises": [{"id": e, "points": exercises[e]} for e in ordered],
            "maximum": sum(exercises.values()), "students": students}


def _ran_with(record: RanWith) -> dict:
    return {"release": record.release.value, "version": record.version, "built": record.built,
            "source": record.source}


def ran_with_text(row: dict) -> str:
    """One cell for a row's ``ran_with``: the release when all its notebooks agree
    (``graded release 0.1.0 (built 2026-03-01, from 6aa192c)``), else each lesson's
    (``05_branching: self-study 0.1.0; 06_residual: unknown``); empty without notebooks."""
    entries = row.get("ran_with") or {}
    labels = {lesson: ran_with_label(entry) for lesson, entry in sorted(entries.items())
              if isinstance(entry, dict)}
    if len(set(labels.values())) == 1:
        return next(iter(labels.values()))
    return "; ".join(f"{lesson}: {label}" for lesson, label in labels.items())


def write(gradebook: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write ``gradebook.csv`` (one row per student) and ``gradebook.json`` (everything)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "gradebook.json"
    json_path.write_text(json.dumps(gradebook, indent=1, sort_keys=True) + "\n")
    csv_path = out_dir / "gradebook.csv"
    write_csv(gradebook, csv_path)
    return csv_path, json_path


def write_csv(gradebook: dict, path: Path) -> None:
    ids = [e["id"] for e in gradebook["exercises"]]
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *ids, "total", "maximum", "notes", "ran with"])
        for row in gradebook["students"]:
            cells = ["" if row["points"].get(e) is None else row["points"][e] for e in ids]
            writer.writerow([row["student"], *cells, row["total"], gradebook["maximum"],
                             "; ".join(row["notes"]), ran_with_text(row)])


def read(out_dir: Path) -> dict:
    return json.loads((Path(out_dir) / "gradebook.json").read_text())


def merge(gradebooks: list[dict]) -> dict:
    """One gradebook from shard gradebooks; a student graded in two shards is an error."""
    exercises: dict[str, float] = {}
    students: dict[str, dict] = {}
    for book in gradebooks:
        for exercise in book["exercises"]:
            exercises.setdefault(exercise["id"], exercise["points"])
        for row in book["students"]:
            if row["student"] in students:
                raise ValueError(f"student {row['student']!r} appears in more than one shard")
            students[row["student"]] = row
    ordered = sorted(exercises, key=exercise_sort_key)
    rows = []
    for name in sorted(students):
        row = dict(students[name])
        row["points"] = {e: row["points"].get(e) for e in ordered}
        rows.append(row)
    return {"exercises": [{"id": e, "points": exercises[e]} for e in ordered],
            "maximum": sum(exercises.values()), "students": rows}
