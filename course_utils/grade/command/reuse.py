"""Which notebooks a regrade may skip: the runner's side of the cache (``cache``).

A notebook's records are found by the bytes of the file the student uploaded, its file name,
the release, the installed ``course_utils``, the libraries and the grading settings: what
``prepare`` makes of a file depends on nothing else, so a hit needs neither reading nor
restoring the notebook, let alone running it. What is kept for a notebook is everything the
grader said of it: the notes of restoring its check cells and the records of its run.
"""

from __future__ import annotations

from course_utils.grade import records
from course_utils.grade.command import cache


class Reuse:
    """Cache keys and cached records of one grading run's notebooks."""

    def __init__(self, settings):
        self.folder = settings.out / ".cache"
        self.wanted = settings.verdict_settings()
        self.fresh = settings.fresh
        self.keys: dict[tuple[str, str], str] = {}   # (student, lesson) -> key

    def records(self, submission, release) -> list | None:
        """The records kept for this submission, or None (it must be graded)."""
        lesson = release.path.stem
        key = cache.notebook_key(submission.student, submission.path, release.path,
                                 {**self.wanted, "file name": submission.name})
        self.keys[(submission.student, lesson)] = key
        stored = None if self.fresh else cache.lookup(self.folder, key)
        try:
            typed = [records.from_wire(r, {lesson: release.exercises}) for r in stored or []]
        except records.BadRecord:
            return None
        if typed and all(r.student == submission.student and r.lesson == lesson for r in typed):
            return typed
        return None

    def keep(self, graded: list[tuple[object, object]], found: list) -> None:
        """Store the records of each graded (submission, release) whose run went through."""
        by_place: dict = {}
        for record in found:
            by_place.setdefault((record.student, record.lesson), []).append(records.to_wire(record))
        for submission, release in graded:
            place = (submission.student, release.path.stem)
            wires = by_place.get(place, [])
            if place in self.keys and cache.worth_keeping(wires, release.exercises):
                cache.store(self.folder, self.keys[place], wires)
