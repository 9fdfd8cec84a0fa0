"""What grading produces, as types: one ``CheckResult`` per check, one ``Note`` per remark.

Records travel from pytest workers to the controller (``report.user_properties``) and from the
pytest process to the instructor command (a JSON-lines file in a private folder that no kernel
can see). They are plain dicts on the way and are turned back into these types, and checked
against the release, by ``from_wire``: an exercise that is not in that lesson's release, a
maximum other than the release's, an unknown status or earned points that do not follow from
the status are refused, so nothing on the way can add a bonus exercise, raise a maximum or
award points. ``RanWith`` (which course_utils a notebook ran with) is read from text a student
could have written: it is built only from parts that pass strict patterns, and refused otherwise.
"""

from __future__ import annotations

import re
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


class CourseRelease(str, Enum):
    """Which course_utils a notebook ran with, as the release line its set-up cell printed says
    (``course_utils.exercises.graded``): shown on the row, never part of a grade."""

    GRADED = "graded release"
    SELF_STUDY = "self-study"
    NO_SOLUTIONS = "no solutions"    # neither: a copy of course_utils without course_solutions
    UNKNOWN = "unknown"              # no release line in the notebook's stored outputs

    def __str__(self) -> str:
        return self.value


# The parts of a release line, bounded: a version (PEP 440, local part included), a date, and what
# ``git describe --always --dirty`` prints. Anything else a notebook printed is not shown.
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+!_-]{0,31}")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_SOURCE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+-]{0,63}")
RAN_WITH_FIELDS = ("student", "lesson", "release", "version", "built", "source")


@dataclass(frozen=True)
class RanWith:
    """Which course_utils one notebook of a student ran with (``CourseRelease``), with the version
    and, for a graded release, its build date and source. Constructing one validates it: every
    part is a bounded token or empty, and only a graded release has a date or source."""

    student: str
    lesson: str
    release: CourseRelease = CourseRelease.UNKNOWN
    version: str = ""
    built: str = ""
    source: str = ""

    def __post_init__(self):
        problem = _ran_with_problem(self)
        if problem:
            raise BadRecord(f"ran-with record: {problem}")

    @classmethod
    def sanitised(cls, student: str, lesson: str, kind: str | None = None, version: str = "",
                  built: str = "", source: str = "") -> RanWith:
        """From what a notebook printed: a part that fails its pattern is left out, an unknown
        kind is ``UNKNOWN`` (so a notebook's text can never make grading fail)."""
        try:
            release = CourseRelease(kind)
        except ValueError:
            return cls(student, lesson)
        if release is CourseRelease.UNKNOWN:
            return cls(student, lesson)
        graded = release is CourseRelease.GRADED
        return cls(student, lesson, release, _kept(_VERSION, version),
                   _kept(_DATE, built) if graded else "", _kept(_SOURCE, source) if graded else "")

    @property
    def label(self) -> str:
        return ran_with_label(asdict(self))


def _kept(pattern: re.Pattern, text) -> str:
    """``text`` if it is a whole match of ``pattern``, else nothing."""
    return text if isinstance(text, str) and pattern.fullmatch(text) else ""


def _ran_with_problem(record: RanWith) -> str:
    if not all(isinstance(getattr(record, name), str) for name in RAN_WITH_FIELDS):
        return "every field must be text"
    if not isinstance(record.release, CourseRelease):
        return f"unknown release {record.release!r:.40}"
    for name, pattern in (("version", _VERSION), ("built", _DATE), ("source", _SOURCE)):
        value = getattr(record, name)
        if value and not pattern.fullmatch(value):
            return f"{name} {value!r:.40} is not a {name}"
    if record.release is not CourseRelease.GRADED and (record.built or record.source):
        return "only a graded release has a build date or source"
    if record.release is CourseRelease.UNKNOWN and record.version:
        return "an unknown release has no version"
    return ""


def ran_with_label(entry: dict) -> str:
    """How a row shows one notebook's release: ``graded release 0.1.0 (built 2026-03-01, from
    6aa192c)``, ``self-study 0.1.0``, ``unknown``. ``entry`` is a gradebook row's
    ``ran_with[lesson]`` (the record's fields without student and lesson)."""
    release = str(entry.get("release") or CourseRelease.UNKNOWN.value)
    parts = [release, entry.get("version") or ""]
    detail = ", ".join(filter(None, [f"built {entry['built']}" if entry.get("built") else "",
                                     f"from {entry['source']}" if entry.get("source") else ""]))
    return " ".join(filter(None, parts)) + (f" ({detail})" if detail else "")


def to_wire(record) -> dict:
    """The record as plain JSON values (what xdist, the records file and the cache carry)."""
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(record).items()}
    if isinstance(record, RanWith):
        data["release"] = record.release.value
    else:
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
    if kind == "RanWith":
        return _ran_with_from_wire(fields_, exercises_of_lesson)
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


def _ran_with_from_wire(fields_: dict, exercises_of_lesson) -> RanWith:
    if set(fields_) != set(RAN_WITH_FIELDS):
        raise BadRecord(f"malformed ran-with record: fields {sorted(map(str, fields_))!r:.120}")
    if not (isinstance(fields_["student"], str) and isinstance(fields_["lesson"], str)):
        raise BadRecord("a ran-with record without student or lesson")
    if exercises_of_lesson is not None and fields_["lesson"] not in exercises_of_lesson:
        raise BadRecord(f"ran-with record of {fields_['lesson']!r:.60}, not a lesson of the release")
    release = fields_["release"]
    if not isinstance(release, str) or release not in {r.value for r in CourseRelease}:
        raise BadRecord(f"unknown release {release!r:.40}")
    return RanWith(**{**fields_, "release": CourseRelease(release)})


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
    ran_with: dict[str, RanWith] = field(default_factory=dict)   # lesson -> its notebook's

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    def failed(self, lesson: str, fault: Fault, text: str) -> None:
        """A run that failed, by kind: what the report groups (never parsed from the notes)."""
        entry = {"lesson": lesson, "fault": fault.value, "text": text}
        if entry not in self.failures:
            self.failures.append(entry)
