"""What grading produces, as types: one ``CheckResult`` per check, one ``Note`` per remark.

Records travel from pytest workers to the controller (``report.user_properties``) and from the
pytest process to the instructor command (a JSON-lines file in a private folder that no kernel
can see). They are plain dicts on the way and are turned back into these types, and checked
against the release, by ``from_wire``: an exercise that is not in that lesson's release, a
maximum other than the release's, an unknown status or earned points that do not follow from
the status are refused, so nothing on the way can add a bonus exercise, raise a maximum or
award points.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum

from course_utils.grade.contract import Fault


class Status(str, Enum):
    """What a check's verdict is. A ``str`` enum: records travel as JSON and compare as text."""

    CORRECT = "correct"
    NOT_CORRECT = "not correct"
    FAULT = "fault"          # the notebook could not be judged (time-out, dead kernel, ...)

    def __str__(self) -> str:
        return self.value


STATUSES = tuple(status.value for status in Status)


class BadRecord(ValueError):
    """A record that does not match the release: an infrastructure fault, never a grade."""


@dataclass(frozen=True)
class CheckResult:
    """One check of one student: ``earned`` out of ``maximum`` points, and why."""

    student: str
    lesson: str
    exercise: str
    status: str
    maximum: float
    reason: str = ""
    message: str = ""
    judged: bool = False      # the grader's own check ran (not a fault before it could)
    fault: Fault | None = None   # with status "fault": which kind

    @property
    def earned(self) -> float:
        return self.maximum if self.status == "correct" else 0

    @property
    def failed_to_run(self) -> bool:
        return self.status == "fault"


@dataclass(frozen=True)
class Note:
    """A remark on a student's row: a fault outside any check, a restored cell, a choice made."""

    student: str
    text: str
    lesson: str = ""
    flagged: bool = False
    failed_to_run: bool = False
    fault: Fault | None = None   # with failed_to_run: which kind


def to_wire(record) -> dict:
    """The record as plain JSON values (what xdist, the records file and the cache carry)."""
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(record).items()}
    data["fault"] = record.fault.value if record.fault else ""
    data["kind"] = type(record).__name__
    return data


def from_wire(data, exercises_of_lesson: dict[str, dict[str, float]] | None = None):
    """The typed record; ``exercises_of_lesson`` ({"03_sequential": {"lesson03.q1": 2}}) is the
    release it must match (None: trust the exercise and maximum, as the plugin alone does)."""
    if not isinstance(data, dict):
        raise BadRecord(f"not a record: {data!r:.80}")
    kind = data.get("kind")
    fields_ = {k: v for k, v in data.items() if k != "kind"}
    fault = fields_.get("fault") or None
    if fault is not None and (not isinstance(fault, str) or fault not in {f.value for f in Fault}):
        raise BadRecord(f"unknown fault {fault!r}")
    fields_["fault"] = Fault(fault) if fault else None
    try:
        if kind == "Note":
            record = Note(**fields_)
            if not (isinstance(record.student, str) and isinstance(record.text, str)):
                raise BadRecord(f"a note without student or text: {data!r:.120}")
            return record
        if kind != "CheckResult":
            raise BadRecord(f"unknown record kind {kind!r}")
        record = CheckResult(**fields_)
    except TypeError as error:
        raise BadRecord(f"malformed record ({error}): {data!r:.120}") from None
    if record.status not in STATUSES:
        raise BadRecord(f"unknown status {record.status!r}")
    record = CheckResult(**{**asdict(record), "status": Status(record.status)})
    if exercises_of_lesson is not None:
        release = exercises_of_lesson.get(record.lesson)
        if release is None or record.exercise not in release:
            raise BadRecord(f"{record.exercise!r} is not an exercise of {record.lesson!r}")
        if record.maximum != release[record.exercise]:
            raise BadRecord(f"{record.exercise}: maximum {record.maximum!r}, release says "
                            f"{release[record.exercise]!r}")
    return record


@dataclass
class Row:
    """A student's line of the gradebook while it is being built."""

    student: str
    key: str = ""             # the file-name-safe id (feedback file, scratch folder)
    results: dict[str, list[CheckResult]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flagged: bool = False
    failed_to_run: bool = False
    failures: list[dict] = field(default_factory=list)   # {"lesson", "fault", "text"}

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def failed(self, lesson: str, fault: Fault, text: str) -> None:
        """A run that failed, by kind: what the report groups (never parsed from the notes)."""
        entry = {"lesson": lesson, "fault": fault.value, "text": text}
        if entry not in self.failures:
            self.failures.append(entry)
