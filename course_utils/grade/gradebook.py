"""From per-cell grading records to a gradebook (CSV and JSON), and merging shard gradebooks.

A *record* is one dict per executed check cell (or per fault) written by the pytest plugin;
a *gradebook* is the JSON-ready dict built here: the exercises with their points, and one row
per student. Keeping the two apart lets the plugin stream records while the instructor
command adds what only it knows (validation and restoration notes, exercises of notebooks that
were never run) before one gradebook is built.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path


def exercise_sort_key(exercise_id: str):
    """lesson03.q10 after lesson03.q2: numbers compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", exercise_id)]


def new_row(student: str) -> dict:
    return {"student": student, "points": {}, "details": {}, "notes": [], "flagged": False,
            "failed_to_run": False}


def add_record(rows: dict, record: dict) -> None:
    """Fold one plugin record into the rows; an exercise earns points only if every one of
    its check cells passed (a duplicated check cell can never add points)."""
    row = rows.setdefault(record["student"], new_row(record["student"]))
    if record.get("note"):
        _note(row, record["note"])
    if record.get("flagged"):
        row["flagged"] = True
    if record.get("failed_to_run"):
        row["failed_to_run"] = True
    exercise = record.get("exercise")
    if not exercise:
        return
    earned = record["points"] if record["status"] == "correct" else 0
    reason = record.get("reason") or ""
    if record["status"] == "fault" and not any(reason in note for note in row["notes"]):
        _note(row, f"{exercise}: {reason}")
    detail = row["details"].get(exercise)
    if detail is None:
        row["details"][exercise] = {k: record.get(k) for k in
                                    ("status", "reason", "message", "points", "lesson")}
        row["points"][exercise] = earned
    else:
        _note(row, f"{exercise}: more than one check cell; graded as not correct unless all pass")
        if earned == 0 and detail["status"] == "correct":
            detail.update({k: record.get(k) for k in ("status", "reason", "message")})
        row["points"][exercise] = min(row["points"][exercise], earned)
    if record.get("replaced"):
        row["flagged"] = True
        _note(row, f"{exercise}: notebook code replaced {', '.join(record['replaced'])}; scored 0")


def _note(row: dict, text: str) -> None:
    if text not in row["notes"]:
        row["notes"].append(text)


def build(rows: dict, exercises: dict[str, int] | None = None) -> dict:
    """The gradebook: every known exercise is a column, totals and maximum filled in."""
    exercises = dict(exercises or {})
    for row in rows.values():
        for exercise, detail in row["details"].items():
            exercises.setdefault(exercise, detail["points"])
    ordered = sorted(exercises, key=exercise_sort_key)
    students = []
    for name in sorted(rows):
        row = rows[name]
        row["total"] = sum(v for v in row["points"].values() if v)
        row["points"] = {e: row["points"].get(e) for e in ordered}
        students.append(row)
    return {"exercises": [{"id": e, "points": exercises[e]} for e in ordered],
            "maximum": sum(exercises.values()), "students": students}


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
        writer.writerow(["student", *ids, "total", "maximum", "notes"])
        for row in gradebook["students"]:
            cells = ["" if row["points"].get(e) is None else row["points"][e] for e in ids]
            writer.writerow([row["student"], *cells, row["total"], gradebook["maximum"],
                             "; ".join(row["notes"])])


def read(out_dir: Path) -> dict:
    return json.loads((Path(out_dir) / "gradebook.json").read_text())


def merge(gradebooks: list[dict]) -> dict:
    """One gradebook from shard gradebooks; a student graded in two shards is an error."""
    exercises: dict[str, int] = {}
    rows: dict[str, dict] = {}
    for book in gradebooks:
        for exercise in book["exercises"]:
            exercises.setdefault(exercise["id"], exercise["points"])
        for row in book["students"]:
            if row["student"] in rows:
                raise ValueError(f"student {row['student']!r} appears in more than one shard")
            rows[row["student"]] = dict(row, points={k: v for k, v in row["points"].items()
                                                     if v is not None})
    return build(rows, exercises)
