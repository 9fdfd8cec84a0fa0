"""``feedback/<student>.md``: per exercise the points, the check's own message and the hints.

Only what a student may see goes in: the message the check displayed (the same text the student
sees when running ``check()`` themselves), the exercise's hints and the grader's notes. Never
the check cell's source, the hidden inputs or the reference solution.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from course_utils.grade.command import cache
from course_utils.grade.command.prepare import Release

OUTCOME_WORDS = {"correct": "correct", "not correct": "not correct yet",
                 "fault": "could not be graded"}


def exercise_info(releases: dict[str, Release], cache_dir: Path | None = None,
                  judged: dict | None = None) -> dict[str, dict]:
    """Title and hints of every released exercise: from ``judged``, the catalog the grading
    run wrote (its process had imported the exercise modules to judge them), else read from
    the exercise modules here. Importing them imports torch (about 1.5 s), so with
    ``cache_dir`` the result is kept there under ``cache.catalog_key`` too."""
    key = cache.catalog_key(r.path for r in releases.values()) if cache_dir else None
    stored = cache.lookup(cache_dir, key) if key else None
    if stored is not None:
        return {entry.pop("exercise"): entry for entry in stored}
    info = _from_catalog(releases, judged or {}) or _read_exercise_info(releases)
    if key:
        cache.store(cache_dir, key, [{"exercise": exercise, **entry}
                                     for exercise, entry in info.items()])
    return info


def _from_catalog(releases: dict[str, Release], judged: dict) -> dict[str, dict] | None:
    """The info of every released exercise from the run's catalog; None if one is missing
    or malformed there (the modules are then read here)."""
    info = {}
    for release in releases.values():
        for cell in release.checks:
            exercise = cell.metadata["course"]["exercise"]
            entry = judged.get(exercise)
            if not (isinstance(entry, dict) and isinstance(entry.get("title"), str)
                    and isinstance(entry.get("hints"), list)
                    and all(isinstance(hint, str) for hint in entry["hints"])):
                return None
            info[exercise] = {"title": entry["title"], "hints": list(entry["hints"]),
                              "lesson": release.path.stem}
    return info


def _read_exercise_info(releases: dict[str, Release]) -> dict[str, dict]:
    info = {}
    for release in releases.values():
        for cell in release.checks:
            exercise = cell.metadata["course"]["exercise"]
            info[exercise] = {"title": "", "hints": [], "lesson": release.path.stem}
            for name, (_line, module) in release.imports.items():
                if f"{name}.{exercise.split('.')[-1]}." not in cell.source:
                    continue
                try:
                    obj = getattr(importlib.import_module(module), exercise.split(".")[-1])
                except Exception:  # noqa: BLE001 - a broken module must not stop the feedback
                    continue
                info[exercise].update(title=getattr(obj, "title", ""),
                                      hints=list(getattr(obj, "hints", [])))
    return info


def render(row: dict, book: dict, info: dict[str, dict]) -> str:
    lines = [f"# Feedback for {row['student']}", "",
             f"**Total: {row['total']} / {book['maximum']} points**", ""]
    if row["notes"]:
        lines += ["Notes from the grader:", ""] + [f"- {note}" for note in row["notes"]] + [""]
    lesson = None
    for exercise in book["exercises"]:
        exercise_id, points = exercise["id"], exercise["points"]
        meta = info.get(exercise_id, {})
        if meta.get("lesson", "") != lesson:
            lesson = meta.get("lesson", "")
            lines += [f"## {lesson or 'other'}", ""]
        earned = row["points"].get(exercise_id)
        title = f" — {meta['title']}" if meta.get("title") else ""
        if earned is None:
            lines += [f"### {exercise_id}{title}: not submitted (0 / {points})", ""]
            continue
        detail = row["details"].get(exercise_id, {})
        status = OUTCOME_WORDS.get(detail.get("status"), detail.get("status", ""))
        lines += [f"### {exercise_id}{title}: {earned} / {points} ({status})", ""]
        if detail.get("reason") and detail.get("status") != "not correct":
            lines += [f"Reason: {detail['reason']}", ""]
        if detail.get("message"):
            lines += ["```text", detail["message"].replace("```", "'''"), "```", ""]
        if detail.get("status") != "correct" and meta.get("hints"):
            lines += ["Hints:", ""] + [f"{i}. {h}" for i, h in enumerate(meta["hints"], 1)] + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_all(book: dict, info: dict[str, dict], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for row in book["students"]:
        (folder / f"{row.get('key') or row['student']}.md").write_text(render(row, book, info))
