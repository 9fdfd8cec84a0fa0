"""The instructor's view after grading: report.html, the Canvas/Moodle exports, the cache.

All from a class built directly as a gradebook dict (tests/grading/class_fixture.py): no kernel
runs here, so these tests take a second or two.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pytest

from course_utils.grade.command import cache, exports, report
from class_fixture import HOSTILE, HOSTILE_ANSWER, build_class  # tests/grading/ is on sys.path

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def book():
    return build_class()


@pytest.fixture
def summary(book):
    return report.summarise(book)


def exercise(summary, exercise_id):
    return next(e for e in summary["exercises"] if e["id"] == exercise_id)


def lesson(summary, lesson_id):
    return next(u for u in summary["lessons"] if u["id"] == lesson_id)


# ------------------------------------------------------------------ grouping messages

@pytest.mark.parametrize("message, expected", [
    ("✗ Incorrect — lesson03.q1: Stack\nThe output has shape (4, 8); expected (4, 16).\n"
     "At cell 5, line 3, in forward:\n    return self.fc(x)",
     "The output has shape (4, 8); expected (4, 16)."),
    ("⚠ Error in your code — lesson05.q2\nYour code raised ValueError: bad\nAt cell 2, line 1:\n"
     "    x = f()", "Your code raised ValueError: bad"),
    ("no heading, two\nlines", "no heading, two lines"),
    ("", ""),
])
def test_essence_drops_the_heading_and_the_quoted_student_code(message, expected):
    assert report.essence(message) == expected


@pytest.mark.parametrize("text, expected", [
    ("expected (4, 16), got (4, 8)", "expected (<n>, <n>), got (<n>, <n>)"),
    ("loss -0.25 vs 1e-3 at 0x7f3a", "loss <n> vs <n> at <n>"),
    ("You returned 'relu'; don't", "You returned '…'; don't"),
    ('named "fc1" in lesson03 with conv2d float32', "named '…' in lesson03 with conv2d float32"),
])
def test_pattern_blanks_numbers_and_quoted_values_but_not_names(text, expected):
    assert report.pattern(text) == expected


@pytest.mark.parametrize("entry, kind", [
    ({"fault": "time-out", "text": "timed out after 5 s"}, "time-out"),
    ({"fault": "out of memory"}, "out of memory"),
    ({"fault": "unreadable file", "reason": "x.ipynb: not valid JSON"}, "unreadable file"),
    ({"fault": ""}, None),
    ({"fault": "exploded"}, None),
    ({"reason": "timed out after 5 s (an endless loop?)"}, None),   # kinds are typed, never parsed
])
def test_failure_kinds_are_the_recorded_fault(entry, kind):
    assert report.failure_kind(entry) == kind


# ------------------------------------------------------------------ the report's numbers

def test_summary_line_numbers(summary):
    assert summary["students"] == 6
    assert summary["maximum"] == 6
    assert summary["mean"] == pytest.approx(16 / 6, abs=0.01)   # totals 2, 6, 4, 0, 4, 0
    assert summary["median"] == 3
    assert summary["flagged"] == [HOSTILE, "dan"]
    assert summary["failed_to_run"] == ["eve"]
    assert summary["incomplete"] is None


def test_the_shared_mistake_is_one_group_with_two_students(summary):
    q1 = exercise(summary, "lesson03.q1")
    assert (q1["submitted"], q1["passed"], q1["pass_rate"]) == (6, 2, 0.333)
    assert q1["mean_points"] == pytest.approx(4 / 6, abs=0.01)
    assert [(g["status"], g["pattern"], g["count"]) for g in q1["groups"]] == [
        ("not correct", "The output has shape (<n>, <n>); expected (<n>, <n>).", 2),
        ("not correct", "Not attempted yet: the stub is still there.", 1),
        ("fault", "time-out", 1),
    ]
    assert q1["groups"][0]["example"] == "The output has shape (4, 8); expected (4, 16)."
    assert q1["groups"][2]["example"] == "timed out after 5 s (an endless loop?)"
    assert q1["other_misses"] == 0


def test_quoted_values_group_and_unsubmitted_lessons_are_left_out(summary):
    q2 = exercise(summary, "lesson03.q2")
    assert (q2["submitted"], q2["passed"], q2["mean_points"]) == (6, 3, 0.5)
    assert q2["groups"][0] == {
        "status": "not correct", "pattern": "You returned '…'; expected the function itself.",
        "count": 2, "example": f"You returned '{HOSTILE_ANSWER}'; expected the function itself."}
    lesson04 = exercise(summary, "lesson04.q1")  # cleo and the hostile name did not submit it
    assert (lesson04["submitted"], lesson04["passed"], lesson04["pass_rate"]) == (4, 3, 0.75)
    assert lesson04["mean_points"] == 2.25


def test_faults_group_by_kind_whatever_the_file_damage(book):
    reasons = ["03_x.ipynb: empty file", "03_x.ipynb: not valid JSON (line 1, column 2)",
               "03_x (1).ipynb: JSON but not a Jupyter notebook (no list of cells)"]
    for row, reason in zip(book["students"][1:4], reasons):  # ada, ben, cleo
        row["points"]["lesson03.q1"] = 0
        row["details"]["lesson03.q1"] = {"status": "fault", "reason": reason, "message": "",
                                         "fault": "unreadable file"}
    q1 = exercise(report.summarise(book), "lesson03.q1")
    assert [(g["status"], g["pattern"], g["count"]) for g in q1["groups"]][0] == (
        "fault", "unreadable file", 3)


def test_only_the_most_common_groups_are_listed(book):
    wrong = [dict(row, student=f"s{i}", details={"lesson03.q1": {
        "status": "not correct", "message": f"mistake number {'I' * (i % 7 + 1)}",
        "reason": "", "points": 2, "lesson": "03_sequential"}}) for i, row in
        enumerate([book["students"][0]] * 14)]
    for row in wrong:
        row["points"] = {"lesson03.q1": 0}
    q1 = exercise(report.summarise(dict(book, students=wrong)), "lesson03.q1")
    assert [g["count"] for g in q1["groups"]] == [2] * report.TOP_GROUPS
    assert q1["other_misses"] == 14 - 2 * report.TOP_GROUPS


def test_lessons_count_submissions_and_failed_runs(summary):
    lesson03, lesson04 = lesson(summary, "lesson03"), lesson(summary, "lesson04")
    assert (lesson03["name"], lesson03["submitted"], lesson03["students"]) == ("03_sequential", 6, 6)
    assert lesson03["failures"] == {"kernel died": ["eve"], "out of memory": ["eve"],
                                    "time-out": ["eve"]}
    assert (lesson04["name"], lesson04["submitted"]) == ("04_ordereddict", 4)
    assert lesson04["failures"] == {"unreadable file": ["eve"]}


def test_points_without_details_still_count(book):
    for row in book["students"]:
        row["details"].pop("lesson04.q1", None)   # e.g. a gradebook merged from an older run
    lesson04 = exercise(report.summarise(book), "lesson04.q1")
    assert (lesson04["submitted"], lesson04["passed"], lesson04["mean_points"]) == (4, 3, 2.25)
    assert lesson04["groups"] == [{"status": "unknown", "pattern": "unknown", "count": 1,
                                   "example": "unknown"}]


def test_an_empty_class_still_gives_a_page(tmp_path):
    book = {"exercises": [{"id": "lesson01.q1", "points": 1}], "maximum": 1, "students": []}
    summary = report.summarise(book)
    assert (summary["students"], summary["mean"], summary["median"]) == (0, None, None)
    assert "0 students" in report.write_report(book, tmp_path).read_text()


# ------------------------------------------------------------------ the page

@pytest.fixture
def page(book, tmp_path):
    return report.write_report(book, tmp_path).read_text(encoding="utf-8")


def text_of(page_html):
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page_html, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_page_shows_the_summary_groups_lessons_and_flags(page):
    text = text_of(page)
    assert "6 students · mean 2.67 · median 3 of 6 points · 2 flagged · 1 failed to run" in text
    assert "2 × not correct: The output has shape (<n>, <n>); expected (<n>, <n>)." in text
    assert "time-out: 1 (eve)" in text and "unreadable file: 1 (eve)" in text
    assert "4 of 6" in text  # lesson 04 submitted
    flagged = page[page.index('id="flagged"'):]
    assert "check cell of lesson03.q1 was edited; restored from the release" in flagged
    assert flagged.count("<li><a href=") == 2


def test_page_is_self_contained(page):
    assert page.count("<svg") == 2 and "<rect" in page  # histogram and pass rates, inline
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    assert "default-src 'none'" in page                  # the browser may fetch nothing


def test_everything_from_students_is_escaped(page):
    assert HOSTILE not in page and HOSTILE_ANSWER not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert page.count("<script>") == 1                   # the table sorter only
    assert 'href="feedback/%3Cscript%3Ealert%281%29%3C/script%3E.md"' in page


def test_the_same_gradebook_gives_the_same_page(book, tmp_path):
    first = report.write_report(book, tmp_path / "a").read_bytes()
    assert report.write_report(build_class(), tmp_path / "b").read_bytes() == first


def test_chart_labels_from_exercise_ids_are_text():
    svg = report.pass_rate_svg([{"id": "<script>x$y</script>", "pass_rate": 0.5},
                                {"id": "lesson01.q1", "pass_rate": None}])
    assert "<script" not in svg and "&lt;script&gt;x$y&lt;/script&gt;" in svg
    assert "lesson01.q1" not in svg  # nobody submitted it: no bar


def test_students_table_links_feedback_and_sorts_by_data_values(page):
    table = page[page.index('id="students"'):page.index("</table>", page.index('id="students"'))]
    assert table.count("<tr>") == 7  # header and six students
    assert '<a href="feedback/ada.md">ada</a>' in table
    assert re.search(r'data-value="">—</td>', table)    # a lesson not submitted
    assert 'data-value="6">6</td>' in table


def test_unknown_keys_and_an_incomplete_mark_are_handled(book, tmp_path):
    book["incomplete"] = "pytest was killed"
    book["students"][0]["feedback"] = "feedback/renamed-0001.md"
    book["students"][0]["extra"] = {"anything": [1, 2]}
    page = report.write_report(book, tmp_path).read_text()
    assert "This gradebook is marked incomplete: pytest was killed." in text_of(page)
    assert 'href="feedback/renamed-0001.md"' in page


def test_undecodable_folder_names_render_and_export(book, tmp_path):
    raw = b"j\xf6rg".decode("utf-8", "surrogateescape")  # a Latin-1 name from a zip
    book["students"].append(dict(book["students"][1], student=raw, notes=["\ud800 lone"],
                                flagged=True))
    page = report.write_report(book, tmp_path).read_text(encoding="utf-8")
    assert "j\ufffdrg" in page and 'href="feedback/j%F6rg.md"' in page
    rows = read_csv(exports.write_export(book, tmp_path, "canvas"))
    assert rows[-1][0] == "j\ufffdrg"


# ------------------------------------------------------------------ exports

def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_canvas_export_columns_and_rows(book, tmp_path):
    path = exports.write_export(book, tmp_path, "canvas")
    assert path == tmp_path / "canvas.csv"
    rows = read_csv(path)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                       "03_sequential", "04_ordereddict"]
    assert rows[1] == ["Points Possible", "", "", "", "", "3", "3"]
    by_name = {row[0]: row for row in rows[2:]}
    assert len(by_name) == 6
    assert by_name["ada"] == ["ada", "", "", "ada", "", "3", "3"]
    assert by_name["ben"] == ["ben", "", "", "ben", "", "1", "3"]
    assert by_name["cleo"] == ["cleo", "", "", "cleo", "", "0", ""]  # lesson 04 not submitted
    assert by_name["eve"][5:] == ["0", "0"]
    assert by_name[HOSTILE][5:] == ["2", ""]


def test_canvas_export_takes_the_systems_own_ids(book, tmp_path):
    ids = {"ada": {"ID": "1001", "SIS Login ID": "ada.lovelace", "Section": "A",
                   "unknown column": "ignored"}}
    rows = read_csv(exports.write_export(book, tmp_path, "canvas", identities=ids))
    ada = next(row for row in rows if row[0] == "ada")
    assert ada[:5] == ["ada", "1001", "", "ada.lovelace", "A"]
    assert len(ada) == len(rows[0])


def test_moodle_export_columns_and_rows(book, tmp_path):
    rows = read_csv(exports.write_export(book, tmp_path, "moodle",
                                         identities={"ben": {"Student": "ben@school.example"}}))
    assert rows[0] == ["Student", "03_sequential", "04_ordereddict"]
    assert len(rows) == 7
    by_name = {row[0]: row[1:] for row in rows[1:]}
    assert by_name["ada"] == ["3", "3"]
    assert by_name["ben@school.example"] == ["1", "3"]
    assert by_name["dan"] == ["1", "3"]
    assert by_name["cleo"] == ["0", ""]


def test_exports_defuse_spreadsheet_formulas_and_refuse_unknown_kinds(book, tmp_path):
    book["students"][0]["student"] = "=HYPERLINK(1)"
    rows = read_csv(exports.write_export(book, tmp_path, "moodle"))
    assert rows[1][0] == "'=HYPERLINK(1)"
    with pytest.raises(ValueError, match="unknown export 'blackboard'; choose one of canvas, moodle"):
        exports.write_export(book, tmp_path, "blackboard")


def test_fractional_points_keep_their_fraction(book, tmp_path):
    book["exercises"][1]["points"] = 0.5
    book["students"][1]["points"]["lesson03.q2"] = 0.5  # ada
    rows = read_csv(exports.write_export(book, tmp_path, "canvas"))
    assert rows[1][5] == "2.5"
    assert next(r for r in rows if r[0] == "ada")[5] == "2.5"


# ------------------------------------------------------------------ the cache

RECORDS = [{"student": "ada", "exercise": "lesson03.q1", "points": 2, "status": "correct",
            "message": "✓ Correct", "replaced": [], "score": 1.5, "lesson": None}]


def key(**changes):
    parts = {"student": "ada", "prepared": {"cells": [{"source": "x = 1"}]},
             "release": b'{"cells": []}', "settings": {"timeout": 30}}
    parts.update(changes)
    return cache.notebook_key(parts["student"], parts["prepared"], parts["release"],
                              parts["settings"])


def test_cache_round_trip(tmp_path):
    k = key()
    assert cache.lookup(tmp_path, k) is None
    path = cache.store(tmp_path, k, RECORDS)
    assert path.parent.parent == tmp_path and path.name == f"{k}.json"
    assert cache.lookup(tmp_path, k) == RECORDS
    cache.store(tmp_path, k, [])  # a notebook with nothing to record is an entry too
    assert cache.lookup(tmp_path, k) == []


def test_key_depends_on_every_input(monkeypatch, tmp_path):
    base = key()
    assert key() == base and len(base) == 64
    changed = [key(student="ben"), key(prepared={"cells": [{"source": "x = 2"}]}),
               key(release=b'{"cells": [1]}'), key(settings={"timeout": 5})]
    notebook = tmp_path / "n.ipynb"
    notebook.write_bytes(b'{"cells": []}')
    assert key(release=notebook) == base  # a path is hashed as its bytes
    monkeypatch.setattr(cache, "course_utils_fingerprint", lambda: "another version")
    changed.append(key())
    assert len({base, *changed}) == 6


def test_any_folder_name_gives_a_key_and_an_entry(tmp_path):
    names = [b"j\xf6rg".decode("utf-8", "surrogateescape"), "\ud800", "é" * 300]
    keys = {key(student=name) for name in names}
    assert len(keys) == 3
    for k, name in zip(sorted(keys), names):
        cache.store(tmp_path, k, [{"student": name}])
        assert cache.lookup(tmp_path, k) == [{"student": name}]


def test_the_fingerprint_covers_the_checks_and_their_references():
    names = [folder.name for folder in cache.fingerprinted_folders()]
    assert names == ["course_utils", "course_solutions"]


def test_package_fingerprint_follows_file_contents_not_byte_code(tmp_path):
    package = tmp_path / "pkg"
    (package / "__pycache__").mkdir(parents=True)
    (package / "checks.py").write_text("LIMIT = 1\n")
    first = cache.tree_fingerprint(package)
    (package / "__pycache__" / "checks.cpython-311.pyc").write_bytes(b"\0")
    assert cache.tree_fingerprint(package) == first
    (package / "checks.py").write_text("LIMIT = 2\n")
    assert cache.tree_fingerprint(package) != first
    assert len(cache.course_utils_fingerprint()) == 64


def corrupt_entries(k, other):
    good = {"format": cache.FORMAT, "key": k, "records": RECORDS,
            "digest": cache._records_digest(RECORDS)}
    edited = dict(good, records=[dict(RECORDS[0], points=200)])
    return {
        "truncated": json.dumps(good)[:-20],
        "binary": b"\xff\xfe\x00garbage",
        "not an object": json.dumps([good]),
        "another format": json.dumps(dict(good, format="course-grading-cache/0")),
        "another key": json.dumps(dict(good, key=other)),
        "records edited": json.dumps(edited),
        "records not a list": json.dumps(dict(good, records={"a": 1})),
        "a record not a dict": json.dumps(dict(good, records=[1],
                                               digest=cache._records_digest([1]))),
        "NaN inside": json.dumps(dict(good, records=[{"p": float("nan")}])),
        "deep nesting": "[" * 100_000,
    }


@pytest.mark.parametrize("damage", sorted(corrupt_entries("0" * 64, "1" * 64)))
def test_damaged_or_foreign_entries_are_ignored(tmp_path, damage):
    k, other = key(), key(student="ben")
    path = cache.store(tmp_path, k, RECORDS)
    content = corrupt_entries(k, other)[damage]
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    assert cache.lookup(tmp_path, k) is None
    cache.store(tmp_path, k, RECORDS)  # the next store repairs it
    assert cache.lookup(tmp_path, k) == RECORDS


def test_an_entry_copied_under_another_key_is_refused(tmp_path):
    k, other = key(), key(student="ben")
    path = cache.store(tmp_path, k, RECORDS)
    target = tmp_path / other[:2] / f"{other}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_bytes(path.read_bytes())
    assert cache.lookup(tmp_path, other) is None


def test_unusable_cache_folders_and_keys(tmp_path):
    k = key()
    assert cache.lookup(tmp_path / "missing", k) is None
    (tmp_path / k[:2] / f"{k}.json").mkdir(parents=True)  # a folder where the entry should be
    assert cache.lookup(tmp_path, k) is None
    assert cache.lookup(tmp_path, "../../etc/passwd") is None
    with pytest.raises(ValueError, match="not a cache key"):
        cache.store(tmp_path, "../escape", RECORDS)


@pytest.mark.parametrize("records", [[{"p": float("inf")}], [("a", 1)], [{"s": {1, 2}}],
                                     [{1: "non-string key"}], "not a list"])
def test_store_refuses_what_lookup_would_refuse(tmp_path, records):
    with pytest.raises(ValueError, match="plain JSON"):
        cache.store(tmp_path, key(), records)
    assert list(tmp_path.rglob("*.json")) == []


def test_prune_keeps_the_keys_of_this_run(tmp_path):
    kept, old = key(), key(student="old")
    cache.store(tmp_path, kept, RECORDS)
    cache.store(tmp_path, old, RECORDS)
    (tmp_path / "README").write_text("not an entry")
    assert cache.prune(tmp_path, {kept}) == 1
    assert cache.lookup(tmp_path, kept) == RECORDS and cache.lookup(tmp_path, old) is None
    assert (tmp_path / "README").exists()


@pytest.mark.parametrize("records, expected, keep", [
    (RECORDS, ["lesson03.q1"], True),
    ([], [], True),
    ([dict(RECORDS[0], status="fault", reason="timed out after 5 s (an endless loop?)",
           fault="time-out")],
     ["lesson03.q1"], True),  # the student's loop: it would time out again
    (RECORDS, ["lesson03.q1", "lesson03.q2"], False),  # the run stopped before q2
    ([dict(RECORDS[0], status="fault", fault="run stopped before the check",
           reason="not run: the kernel could not be restored after an earlier fault")],
     ["lesson03.q1"], False),
    ([*RECORDS, {"student": "ada", "note": "03_x: code cell 2: kernel failure: Kernel didn't "
                 "respond", "failed_to_run": True, "fault": "grader trouble"}], ["lesson03.q1"], False),
    ([{"student": "ada", "points": float("nan")}], [], False),
])
def test_only_runs_that_went_through_are_worth_keeping(records, expected, keep):
    assert cache.worth_keeping(records, expected) is keep


def test_feedback_takes_titles_and_hints_from_the_runs_catalog_as_from_the_modules(tmp_path, monkeypatch):
    """The grading run writes the catalog of what it judged; read back, it gives the feedback
    exactly what importing the exercise modules here gives, and an entry missing or malformed
    makes the command read the modules after all."""
    from course_utils.grade.command import feedback, prepare
    from course_utils.grade.pytest_side import judge

    releases = prepare.load_release(ROOT / "exercises")
    modules = sorted(set().union(*(prepare.checked_modules(r.nb.cells) for r in releases.values())))
    monkeypatch.setenv("COURSE_GRADING_EXERCISES", ",".join(modules))
    judge.write_catalog(judge.registry(), tmp_path / "catalog.json")
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    from_modules = feedback._read_exercise_info(releases)
    assert feedback.exercise_info(releases, judged=catalog) == from_modules
    assert from_modules["lesson01.q1"]["title"] and from_modules["lesson01.q1"]["hints"]
    assert list(tmp_path.iterdir()) == [tmp_path / "catalog.json"]   # no partial file left

    missing = {k: v for k, v in catalog.items() if k != "lesson03.q2"}
    assert feedback._from_catalog(releases, missing) is None
    malformed = {**catalog, "lesson03.q2": {"title": "t", "hints": [3]}}
    assert feedback._from_catalog(releases, malformed) is None
    assert feedback.exercise_info(releases, judged=malformed) == from_modules
