"""Which release of the course this is, and what the graded release does instead of solutions.

Two releases come from one source (docs/graded_course.md):

- **self-study**: the whole ``course_utils`` with ``course_solutions``; ``ex.q1.solution()``
  shows the reference, and checks measure answers against references built from it.
- **graded**: a wheel without ``course_solutions`` that carries ``exercises/recorded/``: a
  ``release.json`` saying what it is, and per lesson the *expectations* recorded when it was
  built (what each reference did on the release's fixed inputs: its module tree, parameters,
  outputs, gradients). Checks there ask the same questions; ``solution_object()`` and
  ``reference_answer()`` return stand-ins that replay those recordings
  (``course_utils.exercises.expectations``), and what a recording cannot answer is "checked
  when graded", never "correct". The grader always grades with the full package and fresh inputs.

This module is imported by every check that asks for a reference, and by ``solution()``: it
stays light (no torch at import).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

RECORDED = Path(__file__).resolve().parent / "recorded"   # only in a graded release's wheel
RELEASE_FILE = "release.json"
GRADED, SELF_STUDY, NO_SOLUTIONS = "graded", "self-study", "no solutions"


@cache
def release_info() -> dict:
    """What ``recorded/release.json`` says (``{}`` outside a graded release)."""
    try:
        info = json.loads((RECORDED / RELEASE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def release_kind() -> str:
    """``"graded"`` (a graded release's wheel), ``"self-study"`` (the solutions are installed) or
    ``"no solutions"`` (neither: a grading kernel, or a copy without ``course_solutions``)."""
    if release_info().get("kind") == GRADED:
        return GRADED
    import importlib.util

    from course_utils.exercises.engine import SOLUTIONS_PACKAGE

    try:
        found = importlib.util.find_spec(SOLUTIONS_PACKAGE) is not None
    except (ImportError, ValueError):
        found = False
    return SELF_STUDY if found else NO_SOLUTIONS


def describe_release() -> str:
    """One line naming the course_utils this notebook runs with (the release notebooks print it;
    the grader can read it from a submission's stored outputs: ``ran_with``)."""
    from course_utils import __version__

    kind = release_kind()
    if kind == GRADED:
        info = release_info()
        built = ", ".join(filter(None, [f"built {info['built']}" if info.get("built") else "",
                                        f"from {info['source']}" if info.get("source") else ""]))
        return (f"course_utils {__version__}: graded release ({built or 'no build date'}); no solutions, "
                "checks compare with expectations recorded when the release was built")
    if kind == SELF_STUDY:
        return f"course_utils {__version__}: self-study release; solutions included (ex.qN.solution())"
    return f"course_utils {__version__}: no solutions installed"


def show_release() -> None:
    print(describe_release())


@dataclass(frozen=True)
class ReleaseLine:
    """What a release line says, in parts: which kind of course_utils (``GRADED``, ``SELF_STUDY``,
    ``NO_SOLUTIONS``), its version, and for a graded release its build date and source. Parsed
    from text a notebook printed, so nothing in it is trusted: the grader bounds and checks every
    part (``course_utils.grade.records.RanWith``)."""

    kind: str
    version: str
    built: str = ""
    source: str = ""


_LINES = {   # what describe_release prints for each kind, up to the part that varies
    GRADED: re.compile(r"course_utils (?P<version>\S+): graded release \((?P<detail>[^()]*)\); no solutions"),
    SELF_STUDY: re.compile(r"course_utils (?P<version>\S+): self-study release; solutions included"),
    NO_SOLUTIONS: re.compile(r"course_utils (?P<version>\S+): no solutions installed"),
}


def parse_release_line(line: str) -> ReleaseLine | None:
    """The parts of a line ``describe_release`` printed, or None for any other text."""
    for kind, pattern in _LINES.items():
        match = pattern.match(line.strip())
        if match is None:
            continue
        built = source = ""
        if kind == GRADED:
            for part in match.group("detail").split(", "):
                if part.startswith("built "):
                    built = part.removeprefix("built ")
                elif part.startswith("from "):
                    source = part.removeprefix("from ")
        return ReleaseLine(kind, match.group("version"), built, source)
    return None


def ran_with(notebook) -> str | None:
    """The release line a notebook printed when it last ran (from its stored outputs), or None.

    A line ``parse_release_line`` understands wins over other text that merely starts like one
    (a student's own ``print("course_utils ...: ...")`` above the set-up cell's line)."""
    candidates = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            text = "".join(text) if isinstance(text, list) else str(text)
            for line in text.splitlines():
                if line.startswith("course_utils ") and ": " in line:
                    if parse_release_line(line) is not None:
                        return line.strip()
                    candidates.append(line.strip())
    return candidates[0] if candidates else None


def no_solution_note() -> str:
    """What ``solution()`` says where the solutions are not installed."""
    if release_kind() == GRADED:
        when = release_info().get("solutions_published") or "after the deadline"
        return (f"This is the graded release of the course: the solutions are not part of it. Your "
                f"instructor publishes them {when}.")
    return ("The solutions are not part of this installation: your instructor publishes them after the "
            "deadline.")


def installed_hook():
    """The engine's reference hook for this installation: in a graded release, the replay of its
    recorded expectations; elsewhere None (references are built from the solutions)."""
    if release_kind() != GRADED:
        return None
    from course_utils.exercises import expectations

    return expectations.Replayer(RECORDED).hook
