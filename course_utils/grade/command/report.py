"""``results/report.html``: the class at a glance, for the instructor, in one offline page.

What the numbers in a gradebook do not say at once: how the scores spread, which exercises
the class fails and with which mistake, where runs broke down, who was flagged. The common
mistakes are found by grouping the check messages of the students who did not pass, with
numbers and quoted values blanked out, so "expected shape (4, 16), got (4, 8)" and "expected
shape (4, 16), got (4, 12)" count as one misconception.

:func:`summarise` computes everything from the gradebook dict (the structure written to
``gradebook.json``; keys it does not know are ignored), :func:`write_report` renders it
through a Jinja2 template with autoescaping: every name, message and note a student could
influence is escaped, and the page loads nothing from the network (the histogram is inline
SVG, the table sorter a few lines of inline script).
"""

from __future__ import annotations

import io
import re
import statistics
import threading
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import quote

from course_utils.grade.contract import fault_of
from course_utils.grade.command.exports import lesson_points, lessons, printable
from course_utils.grade.command.gradebook import ran_with_text

TEMPLATE = Path(__file__).with_name("report.html.j2")
TOP_GROUPS = 5
STATUS_ORDER = {"not correct": 0, "fault": 1}
EXAMPLE_CHARS = 400

# ------------------------------------------------------------------ grouping check messages

_HEADING = re.compile(r"^\S{1,2} [^\n]* — \S+")          # "✗ Incorrect — lesson03.q1: title"
_LOCATION = re.compile(r"^At .*, line \d+.*:$")           # "At cell 5, line 3, in forward:"
_QUOTED = re.compile(r"""(?<!\w)'[^'\n]*'(?!\w)|(?<!\w)"[^"\n]*"(?!\w)""")
_NUMBER = re.compile(r"(?<![\w.])[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)(?![\w])")
_SPACE = re.compile(r"\s+")


def essence(message: str) -> str:
    """What a check said about the answer: without the heading line (outcome and exercise) and
    without the quoted student code after "At cell N, line M:", which differs per student."""
    lines = (message or "").strip().splitlines()
    if lines and _HEADING.match(lines[0]):
        lines = lines[1:]
    for index, line in enumerate(lines):
        if _LOCATION.match(line.strip()):
            lines = lines[:index]
            break
    return _SPACE.sub(" ", " ".join(lines)).strip()


def pattern(text: str) -> str:
    """The message with every number replaced by ``<n>`` and every quoted value by ``'…'``.

    Digits inside names (``lesson03``, ``conv2d``, ``float32``) stay: only free-standing
    numbers vary between students."""
    text = _QUOTED.sub("'…'", text)
    text = _NUMBER.sub("<n>", text)
    return _SPACE.sub(" ", text).strip()


def _miss_text(detail: dict) -> str:
    """The text a non-passing exercise is grouped by: the check's message for a wrong answer,
    the reason for a fault (its message is a traceback line or nothing)."""
    status = detail.get("status") or "unknown"
    message = essence(str(detail.get("message") or ""))
    reason = str(detail.get("reason") or "")
    if status == "not correct":
        return message or reason or "the check did not pass"
    return reason or message or status


# ------------------------------------------------------------------ failures of a run

def failure_kind(detail_or_failure: dict) -> str | None:
    """The kind of a failed run (``contract.Fault``'s label), as the gradebook records it."""
    fault = fault_of(detail_or_failure.get("fault"))
    return fault.value if fault is not None else None


# ------------------------------------------------------------------ the numbers

def _mean(values):
    return round(statistics.fmean(values), 2) if values else None


def _exercise_summary(exercise: dict, rows: list[dict]) -> dict:
    """Submitted, passed, mean points and the groups of messages of one exercise."""
    exercise_id, submitted, passed, earned, misses = exercise["id"], 0, 0, [], Counter()
    examples: dict[tuple, str] = {}
    for row in rows:
        points = (row.get("points") or {}).get(exercise_id)
        if points is None:
            continue
        detail = (row.get("details") or {}).get(exercise_id)
        if not isinstance(detail, dict):  # points without details: judge by the points
            full = points > 0 and points >= (exercise.get("points") or 0)
            detail = {"status": "correct" if full else "unknown"}
        submitted += 1
        earned.append(points)
        if detail.get("status") == "correct":
            passed += 1
            continue
        text, status = _miss_text(detail), str(detail.get("status") or "unknown")
        # a fault groups by its kind ("unreadable file" whatever the file's damage)
        kind = (failure_kind(detail) or "other fault") if status == "fault" else None
        group = (status, kind or pattern(text))
        misses[group] += 1
        examples.setdefault(group, text[:EXAMPLE_CHARS])
    # most common first; on a tie the answers' mistakes before run faults
    # (the lessons table lists those too)
    ranked = sorted(misses.items(), key=lambda item: (
        -item[1], STATUS_ORDER.get(item[0][0], len(STATUS_ORDER)), item[0]))
    return {
        "id": exercise_id, "points": exercise.get("points"), "submitted": submitted,
        "passed": passed, "pass_rate": round(passed / submitted, 3) if submitted else None,
        "mean_points": _mean(earned),
        "groups": [{"status": status, "pattern": text, "count": count,
                    "example": examples[(status, text)]}
                   for (status, text), count in ranked[:TOP_GROUPS]],
        "other_misses": sum(count for _, count in ranked[TOP_GROUPS:]),
    }


def _lesson_summary(unit: dict, rows: list[dict]) -> dict:
    """How many submitted the lesson, and which students' runs failed in it, by kind."""
    failures: dict[str, set] = defaultdict(set)
    for row in rows:
        for failure in row.get("failures") or []:
            kind = failure_kind(failure) if isinstance(failure, dict) else None
            if kind and failure.get("lesson") == unit["name"]:
                failures[kind].add(row["student"])
    return {"id": unit["id"], "name": unit["name"], "maximum": unit["maximum"],
            "submitted": sum(lesson_points(row, unit) is not None for row in rows),
            "students": len(rows),
            "failures": {kind: sorted(names) for kind, names in sorted(failures.items())}}


def _releases(rows: list[dict]) -> dict[str, int]:
    """How many graded notebooks ran with each kind of course_utils (graded release, self-study,
    ...), most first: a class that should all use the graded release shows who did not."""
    counts: Counter = Counter()
    for row in rows:
        for entry in (row.get("ran_with") or {}).values():
            if isinstance(entry, dict):
                counts[str(entry.get("release") or "unknown")] += 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def summarise(book: dict) -> dict:
    """Every number and group the report shows, as plain data (what the tests assert)."""
    rows = list(book.get("students") or [])
    units = lessons(book)
    totals = [row.get("total") or 0 for row in rows]
    return {
        "students": len(rows), "maximum": book.get("maximum", 0),
        "mean": _mean(totals), "median": statistics.median(totals) if totals else None,
        "flagged": [r["student"] for r in rows if r.get("flagged")],
        "failed_to_run": [r["student"] for r in rows if r.get("failed_to_run")],
        "incomplete": book.get("incomplete"),
        "exercises": [_exercise_summary(e, rows) for e in book.get("exercises", [])],
        "lessons": [_lesson_summary(unit, rows) for unit in units],
        "ran_with": _releases(rows),
    }


# ------------------------------------------------------------------ the page

_RC = {"svg.fonttype": "none", "svg.hashsalt": "course-report", "font.size": 10,
       "text.parse_math": False}  # a "$" in a label is text, not mathtext


def _svg(figure) -> str:
    """The figure as an inline SVG element (no XML header, no date: the same data gives the
    same page)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def histogram_svg(totals: list[float], maximum: float) -> str:
    """The score distribution, drawn without pyplot so it neither needs nor changes a global
    backend."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    with rc_context(_RC):
        figure = Figure(figsize=(6.4, 2.6), layout="constrained")
        axes = figure.subplots()
        top = max([maximum or 0, *totals, 1])
        if top <= 40 and all(float(t).is_integer() for t in [top, *totals]):
            bins = [x - 0.5 for x in range(int(top) + 2)]  # one bar per possible score
        else:
            bins = [top * i / 20 for i in range(21)]
        axes.hist(totals, bins=bins, color="#1565c0", edgecolor="white")
        axes.set_xlabel(f"total points (maximum {maximum})")
        axes.set_ylabel("students")
        axes.set_xlim(bins[0], bins[-1])
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.spines[["top", "right"]].set_visible(False)
        return _svg(figure)


def pass_rate_svg(exercises: list[dict]) -> str:
    """One horizontal bar per exercise: the share of submitters who passed it, the weakest
    exercises in red, so the ones to revisit in class stand out."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    shown = [e for e in exercises if e["pass_rate"] is not None]
    with rc_context(_RC):
        figure = Figure(figsize=(6.4, 0.8 + 0.24 * max(len(shown), 1)), layout="constrained")
        axes = figure.subplots()
        rates = [100 * e["pass_rate"] for e in shown]
        colours = ["#c62828" if rate < 50 else "#1565c0" for rate in rates]
        axes.barh(range(len(shown)), rates, color=colours)
        axes.set_yticks(range(len(shown)), [e["id"] for e in shown])
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.set_xlabel("passed, % of those who submitted")
        axes.spines[["top", "right"]].set_visible(False)
        return _svg(figure)


def _table(book: dict, units: list[dict], feedback_dir_name: str) -> list[dict]:
    table = []
    for row in book.get("students") or []:
        student = row["student"]
        link = row.get("feedback") if isinstance(row.get("feedback"), str) else \
            f"{feedback_dir_name}/{student}.md"
        table.append({
            "student": printable(student), "total": row.get("total") or 0,
            "lessons": [lesson_points(row, u) for u in units],
            "flagged": bool(row.get("flagged")), "failed": bool(row.get("failed_to_run")),
            "href": quote(link.encode("utf-8", "surrogateescape")),
            "notes": [printable(str(n)) for n in row.get("notes") or []],
            "ran_with": printable(ran_with_text(row)),
        })
    return table


def render(book: dict, feedback_dir_name: str = "feedback") -> str:
    """The report page as text."""
    from jinja2 import Environment, StrictUndefined
    from markupsafe import Markup

    summary = summarise(book)
    units = lessons(book)
    environment = Environment(autoescape=True, undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["printable"] = printable
    environment.filters["percent"] = lambda v: "—" if v is None else f"{100 * v:.0f} %"
    environment.filters["num"] = lambda v: "—" if v is None else f"{v:g}"
    template = environment.from_string(TEMPLATE.read_text(encoding="utf-8"))
    totals = [row.get("total") or 0 for row in book.get("students") or []]
    return template.render(
        summary=summary, units=units, table=_table(book, units, feedback_dir_name),
        histogram=Markup(histogram_svg(totals, book.get("maximum", 0))),
        pass_rates=Markup(pass_rate_svg(summary["exercises"])),
        incomplete=summary["incomplete"])


def warm_up() -> threading.Thread:
    """Import matplotlib and Jinja2 in a background thread and return it.

    Their imports take about half a second; the instructor command starts this before the
    notebooks run, while its own process only waits for pytest, so the report written at the
    end does not add that to a regrade of a few notebooks."""
    def load():
        import jinja2  # noqa: F401
        import matplotlib.figure  # noqa: F401

    thread = threading.Thread(target=load, name="report-imports", daemon=True)
    thread.start()
    return thread


def write_report(book: dict, out_dir: Path, feedback_dir_name: str = "feedback") -> Path:
    """Write ``out_dir/report.html`` from the gradebook and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    # "replace": a lone surrogate in a message (valid JSON, invalid UTF-8) must not stop it
    path.write_text(render(book, feedback_dir_name), encoding="utf-8", errors="replace")
    return path
