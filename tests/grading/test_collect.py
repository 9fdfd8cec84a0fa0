"""Stage "collect" and the reading of notebooks, on the fixture release: no kernel starts here.

Each test builds a small submissions folder the way an LMS download or ``unzip`` leaves it and
asserts the exact Submissions (student, key, lesson, chosen file, notes, candidates).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from pathlib import Path

import nbformat
import pytest

from course_utils.grade.command import prepare
from course_utils.grade.command.collect import MAX_KEY_BYTES, Submission, collect, in_shard, readable
import faults  # tests/grading/faults.py (pytest puts this folder on sys.path)

RELEASES = prepare.load_release(faults.RELEASE)
RELEASED = (faults.RELEASE / faults.FILE).read_bytes()
SOLVED = faults.SOLUTION.read_bytes()
FILE = faults.FILE  # "90_fixture.ipynb"
OLD, NEW = 1_700_000_000, 1_700_100_000  # two modification times, seconds


def put(path: Path | bytes, data: bytes = RELEASED, mtime: int | None = None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def tag(raw: bytes, length: int = 8) -> str:
    return hashlib.sha256(raw).hexdigest()[:length]


def one(student: str, folder: Path, lesson: str = "90", *, key: str | None = None,
        notes=(), chosen: str | None = FILE, candidates=None, flagged=False) -> Submission:
    """The Submission expected for a student whose folder is ``folder``."""
    path = None if chosen is None else folder / chosen
    if candidates is None:
        candidates = () if chosen is None else (chosen,)
    return Submission(student, key or student, lesson, path, tuple(notes),
                      tuple(folder / c for c in candidates), readable(chosen or ""), flagged)


# ------------------------------------------------------------------ folders and names

def test_one_folder_per_student_hidden_and_junk_skipped(tmp_path):
    put(tmp_path / "alice" / FILE)
    put(tmp_path / "alice" / ".ipynb_checkpoints" / "90_fixture-checkpoint.ipynb")
    put(tmp_path / "alice" / "__MACOSX" / FILE)
    put(tmp_path / "alice" / f"._{FILE}")
    put(tmp_path / "alice" / ".DS_Store", b"junk")
    put(tmp_path / "__MACOSX" / "alice" / FILE)
    put(tmp_path / ".hidden" / FILE)
    put(tmp_path / ".DS_Store", b"junk")
    put(tmp_path / "loose_file.ipynb")  # not in a student's folder: nobody's
    assert collect(tmp_path, RELEASES) == [one("alice", tmp_path / "alice")]


def test_files_found_in_subfolders_by_their_two_leading_digits(tmp_path):
    put(tmp_path / "bob" / "week 9" / "done" / "90 fixture, my answers.ipynb", mtime=NEW)
    put(tmp_path / "bob" / "week 8\\90_fixture.ipynb", mtime=OLD)  # a Windows path, one name
    put(tmp_path / "bob" / "900_fixture.ipynb")      # three digits: not lesson 90
    put(tmp_path / "bob" / "42_elsewhere.ipynb")     # a lesson that was not released
    put(tmp_path / "bob" / "notes.txt", b"hello")
    put(tmp_path / "empty" / ".ipynb_checkpoints" / FILE)
    bob = tmp_path / "bob"
    unknown = "unknown lesson (not one of the released notebooks); not graded"
    assert collect(tmp_path, RELEASES) == [
        one("bob", bob, "", chosen=None,
            notes=[f"42_elsewhere.ipynb: {unknown}", f"900_fixture.ipynb: {unknown}",
                   f"notes.txt: {unknown}"]),
        one("bob", bob, chosen="week 9/done/90 fixture, my answers.ipynb",
            candidates=("week 8\\90_fixture.ipynb", "week 9/done/90 fixture, my answers.ipynb"),
            notes=["2 files for lesson 90: week 8\\90_fixture.ipynb, week 9/done/90 fixture, "
                   "my answers.ipynb; graded week 9/done/90 fixture, my answers.ipynb "
                   "(the newest notebook)"]),
        one("empty", tmp_path / "empty", "", chosen=None,
            notes=["no files in the student's folder"]),
    ]


def test_notes_on_files_of_no_lesson_stop_at_twenty(tmp_path):
    for number in range(25):
        put(tmp_path / "hoarder" / f"scan{number:02}.png", b"")
    [submission] = collect(tmp_path, RELEASES)
    unknown = "unknown lesson (not one of the released notebooks); not graded"
    assert submission == one("hoarder", tmp_path / "hoarder", "", chosen=None, notes=[
        *(f"scan{number:02}.png: {unknown}" for number in range(19)),
        "... and 6 more files of no released lesson"])


def test_non_utf8_folder_name_is_shown_with_escapes_and_gets_a_safe_key(tmp_path):
    raw = b"Jos\xe9 Garc\xeda"  # Latin-1, as unzip leaves a Windows zip
    put(os.fsencode(tmp_path) + b"/" + raw + b"/90_r\xe9ponses.ipynb")
    [submission] = collect(tmp_path, RELEASES)
    assert submission == one("Jos\\xe9 Garc\\xeda", tmp_path / os.fsdecode(raw),
                             key=f"Jos_xe9 Garc_xeda-{tag(raw)}",
                             chosen=os.fsdecode(b"90_r\xe9ponses.ipynb"))
    assert submission.name == "90_r\\xe9ponses.ipynb"
    assert submission.student.encode("utf-8") == b"Jos\\xe9 Garc\\xeda"
    assert submission.path.read_bytes() == RELEASED
    (tmp_path / f"{submission.key}.md").write_text("feedback")  # a usable file name


def test_names_that_differ_only_in_undecodable_bytes_stay_two_students(tmp_path):
    for raw in (b"caf\xe9", b"caf\xe8", b"caf\\xe9"):  # the last one spells the escape out
        put(os.fsencode(tmp_path) + b"/" + raw + b"/" + FILE.encode())
    found = collect(tmp_path, RELEASES)
    e8, e9, spelled = tag(b"caf\xe8"), tag(b"caf\xe9"), tag(b"caf\\xe9")
    assert found == [
        one("caf\\xe8", tmp_path / os.fsdecode(b"caf\xe8"), key=f"caf_xe8-{e8}"),
        one("caf\\xe9", tmp_path / "caf\\xe9", key=f"caf_xe9-{spelled}"),
        one(f"caf\\xe9 ~{e9}", tmp_path / os.fsdecode(b"caf\xe9"), key=f"caf_xe9-{e9}"),
    ]
    assert len({s.student for s in found}) == len({s.key for s in found}) == 3


def test_names_differing_in_case_or_with_unsafe_characters_get_distinct_safe_keys(tmp_path):
    for name in ("Alice", "alice", "O'Brien: Ann?", ".dotless", "-dash"):
        put(tmp_path / name / FILE)
    keys = {s.student: s.key for s in collect(tmp_path, RELEASES)}
    assert keys == {"Alice": "Alice", "alice": f"alice-{tag(b'alice')}",
                    "O'Brien: Ann?": "O_Brien_ Ann_-" + tag(b"O'Brien: Ann?"),
                    "-dash": f"_-dash-{tag(b'-dash')}"}  # ".dotless" is hidden: skipped


def test_a_250_character_name_keeps_its_name_and_gets_a_200_byte_key(tmp_path):
    name = "student_" + "x" * 242
    put(tmp_path / name / FILE)
    [submission] = collect(tmp_path, RELEASES)
    key = name[:MAX_KEY_BYTES - 9] + "-" + tag(name.encode())
    assert submission == one(name, tmp_path / name, key=key)
    assert len(key.encode()) == MAX_KEY_BYTES
    (tmp_path / f"{key}.md").write_text("feedback")


def test_a_255_byte_name_is_cut_between_characters(tmp_path):
    name = "é" * 127 + "x"  # 255 bytes of UTF-8, the longest file name
    assert len(name.encode()) == 255
    put(tmp_path / name / FILE)
    [submission] = collect(tmp_path, RELEASES)
    key = "é" * 95 + "-" + tag(name.encode())  # 191 bytes of room: 95 whole characters
    assert submission == one(name, tmp_path / name, key=key)
    (tmp_path / f"{key}.md").write_text("feedback")


# ------------------------------------------------------------------ links

def test_link_to_a_file_outside_earns_nothing_and_is_named(tmp_path):
    subs = tmp_path / "subs"
    put(subs / "mallory" / "work.txt", b"")
    os.symlink(faults.SOLUTION, subs / "mallory" / FILE)
    relative = os.path.relpath(faults.SOLUTION, subs / "trudy")
    put(subs / "trudy" / "other.txt", b"")
    os.symlink(relative, subs / "trudy" / FILE)
    unknown = "unknown lesson (not one of the released notebooks); not graded"
    refused = "outside the submissions folder; refused, not graded"
    assert collect(subs, RELEASES) == [
        one("mallory", subs / "mallory", "", chosen=None, notes=[f"work.txt: {unknown}"]),
        one("mallory", subs / "mallory", chosen=None, flagged=True,
            notes=[f"{FILE}: a link to {faults.SOLUTION}, {refused}"]),
        one("trudy", subs / "trudy", "", chosen=None, notes=[f"other.txt: {unknown}"]),
        one("trudy", subs / "trudy", chosen=None, flagged=True,
            notes=[f"{FILE}: a link to {relative}, {refused}"]),
    ]


def test_link_to_a_folder_outside_is_not_entered(tmp_path):
    subs = tmp_path / "subs"
    os.makedirs(subs / "mallory")
    os.symlink(faults.SOLUTION.parent, subs / "mallory" / "answers")
    assert collect(subs, RELEASES) == [one("mallory", subs / "mallory", "", chosen=None,
                                           flagged=True, notes=[
        f"answers: a link to {faults.SOLUTION.parent}, outside the submissions folder; "
        "refused, not graded"])]


def test_link_loops_end_at_once_with_a_note(tmp_path):
    loopy = tmp_path / "loopy"
    put(loopy / FILE)
    os.symlink(".", loopy / "self")
    os.symlink("b", loopy / "a")
    os.symlink("a", loopy / "b")
    os.symlink("..", loopy / "up")
    started = time.monotonic()
    found = collect(tmp_path, RELEASES)
    assert time.monotonic() - started < 5
    assert found == [
        one("loopy", loopy, "", chosen=None, flagged=True, notes=[
            "a: a link that leads nowhere (b: missing, or a loop); ignored",
            "b: a link that leads nowhere (a: missing, or a loop); ignored",
            "self: a link to the folder .; not followed (its files are read where they are)",
            "up: a link to .., outside the student's own folder; refused, not graded"]),
        one("loopy", loopy)]


def test_links_inside_the_submissions_folder(tmp_path):
    """Decided: a file link within the student's own folder is followed (the file is theirs);
    one into another student's folder is refused (it would grade someone else's work); a
    student folder that is itself a link is refused."""
    put(tmp_path / "alice" / FILE, SOLVED)
    put(tmp_path / "dora" / "work" / "final.ipynb")
    os.symlink("work/final.ipynb", tmp_path / "dora" / FILE)
    put(tmp_path / "copycat" / "mine.txt", b"")
    os.symlink(f"../alice/{FILE}", tmp_path / "copycat" / FILE)
    os.symlink("alice", tmp_path / "alias")
    put(tmp_path / "erin" / FILE)
    os.symlink(FILE, tmp_path / "erin" / "90_again.ipynb")  # a link and its target: one file
    unknown = "unknown lesson (not one of the released notebooks); not graded"
    assert collect(tmp_path, RELEASES) == [
        one("alias", tmp_path / "alias", "", chosen=None, flagged=True,
            notes=["alias: the student's folder is a link (alice); refused, not graded"]),
        one("alice", tmp_path / "alice"),
        one("copycat", tmp_path / "copycat", "", chosen=None, notes=[f"mine.txt: {unknown}"]),
        one("copycat", tmp_path / "copycat", chosen=None, flagged=True, notes=[
            f"{FILE}: a link to ../alice/{FILE}, outside the student's own folder; "
            "refused, not graded"]),
        one("dora", tmp_path / "dora", chosen="work/final.ipynb"),
        one("erin", tmp_path / "erin"),
    ]


def test_a_pipe_is_never_opened(tmp_path):
    os.makedirs(tmp_path / "pat")
    os.mkfifo(tmp_path / "pat" / FILE)
    assert collect(tmp_path, RELEASES) == [one("pat", tmp_path / "pat", chosen=None, notes=[
        f"{FILE}: not a regular file; ignored"])]


# ------------------------------------------------------------------ several candidates

def test_drafts_in_subfolders_the_newest_notebook_is_graded(tmp_path):
    put(tmp_path / "bob" / "a_draft" / FILE, mtime=OLD)
    put(tmp_path / "bob" / "b_final" / FILE, SOLVED, mtime=NEW)
    put(tmp_path / "eve" / "a_draft" / FILE, SOLVED, mtime=NEW)   # the name does not decide
    put(tmp_path / "eve" / "b_final" / FILE, mtime=OLD)
    both = (f"a_draft/{FILE}", f"b_final/{FILE}")
    note = f"2 files for lesson 90: a_draft/{FILE}, b_final/{FILE}; graded {{}} " \
        "(the newest notebook)"
    assert collect(tmp_path, RELEASES) == [
        one("bob", tmp_path / "bob", chosen=both[1], candidates=both, notes=[note.format(both[1])]),
        one("eve", tmp_path / "eve", chosen=both[0], candidates=both, notes=[note.format(both[0])]),
    ]


def test_browser_copies_numbered_1(tmp_path):
    copy_name = "90_fixture (1).ipynb"
    put(tmp_path / "newer_copy" / FILE, mtime=OLD)
    put(tmp_path / "newer_copy" / copy_name, mtime=NEW)
    put(tmp_path / "same_time" / FILE, mtime=OLD)
    put(tmp_path / "same_time" / copy_name, mtime=OLD)
    both = (copy_name, FILE)
    listed = f"2 files for lesson 90: {copy_name}, {FILE}; graded"
    assert collect(tmp_path, RELEASES) == [
        one("newer_copy", tmp_path / "newer_copy", chosen=copy_name, candidates=both,
            notes=[f"{listed} {copy_name} (the newest notebook)"]),
        one("same_time", tmp_path / "same_time", chosen=FILE, candidates=both,
            notes=[f"{listed} {FILE} (the same time as another notebook; "
                   "the name that sorts last)"]),
    ]


def test_an_html_export_beside_the_notebook_is_not_graded(tmp_path):
    put(tmp_path / "carol" / FILE, mtime=OLD)
    put(tmp_path / "carol" / "90_fixture.html", b"<html></html>", mtime=NEW)  # newer, still not
    put(tmp_path / "dan" / "90_fixture.html", b"<html></html>")
    both = ("90_fixture.html", FILE)
    assert collect(tmp_path, RELEASES) == [
        one("carol", tmp_path / "carol", candidates=both, notes=[
            f"2 files for lesson 90: 90_fixture.html, {FILE}; graded {FILE} (the only notebook)"]),
        one("dan", tmp_path / "dan", chosen="90_fixture.html"),
    ]
    nb, problem = prepare.read_submission(tmp_path / "dan" / "90_fixture.html")
    assert (nb, problem) == (None, "90_fixture.html: not a notebook file (.html)")


# ------------------------------------------------------------------ shards

def test_shards_hash_the_folder_bytes_as_before_and_partition_the_students(tmp_path):
    names = [f"student{i}" for i in range(30)]
    for name in names:
        put(tmp_path / name / FILE)
    put(os.fsencode(tmp_path) + b"/caf\xe9/" + FILE.encode())
    for name in names:  # the formula of runner.in_shard before this module existed
        digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
        assert [in_shard(name, (k, 3)) for k in (1, 2, 3)] == \
            [digest % 3 == k - 1 for k in (1, 2, 3)]
    everyone = collect(tmp_path, RELEASES)
    parts = [collect(tmp_path, RELEASES, (k, 3)) for k in (1, 2, 3)]
    assert sorted(sum(parts, []), key=everyone.index) == everyone
    assert all(parts) and len(everyone) == 31
    digest = int(hashlib.sha256(b"caf\xe9").hexdigest(), 16)
    for k in (1, 2, 3):  # a non-UTF-8 name: its bytes, whether given as str or bytes
        assert in_shard(os.fsdecode(b"caf\xe9"), (k, 3)) == in_shard(b"caf\xe9", (k, 3)) \
            == (digest % 3 == k - 1)


# ------------------------------------------------------------------ reading notebooks

def _v3(with_metadata: bool) -> dict:
    """The solved fixture lesson written by hand as nbformat 3 (worksheets, input, prompts)."""
    def code(source, number, exercise=None, points=None):
        metadata = {"course": {"exercise": exercise, "points": points}} \
            if exercise and with_metadata else {}
        return {"cell_type": "code", "collapsed": False, "input": source, "language": "python",
                "metadata": metadata, "outputs": [], "prompt_number": number}
    cells = [
        {"cell_type": "heading", "level": 1, "metadata": {}, "source": ["Fixture lesson 90"]},
        {"cell_type": "markdown", "metadata": {},
         "source": ["Three small exercises for the grading tests."]},
        code(["import grading_fixture_lesson as ex"], 1),
        code(["def double(x):\n", "    return 2 * x"], 2),
        code(["ex.q1.check(double)"], 3, "lesson90.q1", 2),
        code(["# ex.q1.hint()"], 4),
        code(["answer = 6 * 7"], 5),
        code(["ex.q2.check(answer)"], 6, "lesson90.q2", 1),
        code(["def greet(name):\n", "    return f'hello {name}'"], 7),
        code(["ex.q3.check(greet)"], 8, "lesson90.q3", 3),
    ]
    return {"metadata": {"name": "90_fixture"}, "nbformat": 3, "nbformat_minor": 0,
            "worksheets": [{"cells": cells, "metadata": {}}]}


def _ready_sources(ready) -> list[tuple[str, str]]:
    """(check cell id or "", last line) of each prepared cell, in order."""
    return [(c.get("id") if prepare.exercise_of(c) else "", c.source.splitlines()[-1])
            for c in ready.cells]


SOLVED_ORDER = [("", "Three small exercises for the grading tests."),
                ("", "import grading_fixture_lesson as ex"), ("", "    return 2 * x"),
                ("q1-check", "ex.q1.check(double)"), ("", "# ex.q1.hint()"),
                ("", "answer = 6 * 7"), ("q2-check", "ex.q2.check(answer)"),
                ("", "    return f'hello {name}'"), ("q3-check", "ex.q3.check(greet)")]


@pytest.mark.parametrize("with_metadata", [True, False], ids=["metadata", "no-metadata"])
def test_nbformat_3_is_converted_and_its_check_cells_restored(tmp_path, with_metadata):
    put(tmp_path / FILE, json.dumps(_v3(with_metadata)).encode())
    nb, problem = prepare.read_submission(tmp_path / FILE)
    assert problem == "" and nb.nbformat == 4
    ready, reports = prepare.restore(nb, RELEASES["90"], FILE)
    assert reports == []
    assert _ready_sources(ready) == [("", "# Fixture lesson 90")] + SOLVED_ORDER


def _without_ids(raw: bytes, minor: int) -> dict:
    data = json.loads(raw)
    data["nbformat_minor"] = minor
    for cell in data["cells"]:
        del cell["id"]
    return data


@pytest.mark.parametrize("minor", [0, 4, 5])
def test_cells_without_ids_intact_checks_are_restored_not_flagged(tmp_path, minor):
    put(tmp_path / FILE, json.dumps(_without_ids(SOLVED, minor)).encode())
    nb, problem = prepare.read_submission(tmp_path / FILE)  # no MissingIDFieldWarning either
    ready, reports = prepare.restore(nb, RELEASES["90"], FILE)
    assert (problem, reports) == ("", [])
    assert _ready_sources(ready) == SOLVED_ORDER


def test_cells_without_ids_an_edited_check_is_flagged_as_edited(tmp_path):
    data = _without_ids(SOLVED, 4)
    data["cells"][6]["source"] = "print('Correct')  # the check, replaced"
    nb = nbformat.reads(json.dumps(data), as_version=4)
    ready, reports = prepare.restore(nb, RELEASES["90"], FILE)
    assert reports == [f"{FILE}: lesson90.q2: check cell edited (cell 7 \"print('Correct')  "
                       "# the check, replaced\"); the released one was restored"]
    assert [c.get("id") for c in ready.cells if prepare.exercise_of(c)] == \
        ["q1-check", "q2-check", "q3-check"]
    assert "print('Correct')" not in "".join(c.source for c in ready.cells)


def test_without_ids_or_metadata_an_edited_check_cannot_be_told_from_the_students_own(tmp_path):
    data = _without_ids(SOLVED, 4)
    data["cells"][6].update(source="print('Correct')", metadata={})
    nb = nbformat.reads(json.dumps(data), as_version=4)
    ready, reports = prepare.restore(nb, RELEASES["90"], FILE)
    assert reports == [f"{FILE}: lesson90.q2: check cell deleted; the released one was restored"]
    # nothing after it is recognisable (the answer below is solved): restored after every answer
    assert _ready_sources(ready)[5:] == [
        ("", "answer = 6 * 7"), ("", "print('Correct')"), ("", "    return f'hello {name}'"),
        ("q2-check", "ex.q2.check(answer)"), ("q3-check", "ex.q3.check(greet)")]


def test_check_cell_metadata_lost_but_source_intact_is_matched_by_source(tmp_path):
    nb = nbformat.reads(SOLVED.decode(), as_version=4)
    nb.cells[3].metadata = {}
    nb.cells[3].id = "retyped"
    nb.cells[6].source = "ex.q2.check(answer)   \r\n\n"  # trailing spaces, Windows line end
    nb.cells[6].metadata = {}
    ready, reports = prepare.restore(nb, RELEASES["90"], FILE)
    assert reports == []
    assert _ready_sources(ready) == SOLVED_ORDER


def test_problem_notes_name_the_file_and_the_cells(tmp_path):
    nb = nbformat.reads(SOLVED.decode(), as_version=4)
    twin = copy.deepcopy(nb.cells[8])
    twin.id, twin.source = "twin", "pass\n# emptied"
    nb.cells.insert(9, twin)
    moved = nb.cells.pop(6)
    nb.cells.insert(5, moved)
    stray = nbformat.v4.new_code_cell("x = 1", metadata={"course": {"exercise": "lesson90.q9"}})
    nb.cells.append(stray)
    _ready, reports = prepare.restore(nb, RELEASES["90"], "sub/90_fixture (1).ipynb")
    assert reports == [
        'sub/90_fixture (1).ipynb: lesson90.q9: unknown check cell removed (cell 11 "x = 1")',
        'sub/90_fixture (1).ipynb: lesson90.q2: check cell moved (cell 6 "ex.q2.check(answer)"); '
        "the released one was restored",
        'sub/90_fixture (1).ipynb: lesson90.q3: check cell duplicated '
        '(cells 9 "ex.q3.check(greet)", 10 "pass"); the released one was restored']


def test_unreadable_files_are_named_readably(tmp_path):
    raw_name = os.fsencode(tmp_path) + b"/90_\xe9t\xe9.ipynb"
    put(raw_name, b"{")
    assert prepare.read_submission(Path(os.fsdecode(raw_name))) == \
        (None, "90_\\xe9t\\xe9.ipynb: not valid JSON (line 1, column 2)")
    assert readable(b"90_\xe9t\xe9.ipynb") == "90_\\xe9t\\xe9.ipynb"
    put(tmp_path / "named.ipynb", json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                                              "cells": [["not", "a", "cell"]]}).encode())
    assert prepare.read_submission(tmp_path / "named.ipynb", "sub/named.ipynb") == \
        (None, "sub/named.ipynb: not a readable Jupyter notebook (nbformat 4, ValidationError)")
    put(tmp_path / "nosource.ipynb", json.dumps({
        "nbformat": 4, "nbformat_minor": 4, "metadata": {},
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": "hi"},
                  {"cell_type": "code", "metadata": {}, "outputs": []}]}).encode())
    assert prepare.read_submission(tmp_path / "nosource.ipynb") == \
        (None, "nosource.ipynb: cell 2 is not a notebook cell (no type or no source)")


def test_an_untouched_check_cell_stays_where_the_student_had_it(tmp_path):
    nb = nbformat.reads(SOLVED.decode(), as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell("double = None  # after the check"))
    ready, reports = prepare.restore(nb, RELEASES["90"], FILE)
    assert reports == []
    assert _ready_sources(ready)[2:6] == [
        ("", "    return 2 * x"), ("q1-check", "ex.q1.check(double)"),
        ("", "double = None  # after the check"), ("", "# ex.q1.hint()")]


ROOT = Path(__file__).resolve().parents[2]
COURSE = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb")
                if (ROOT / "exercises" / p.name).exists())


@pytest.mark.parametrize("name", COURSE)
def test_course_notebooks_without_ids_or_as_nbformat_3_are_prepared_the_same(tmp_path, name):
    """Every real solution notebook: losing its ids (Colab) or being saved as nbformat 3 yields
    the very notebook its original yields, with nothing reported."""
    release = prepare.load_release(ROOT / "exercises")[name[:2]]
    original = ROOT / "solutions" / name
    expected, reports = prepare.restore(prepare.read_submission(original)[0], release, name)
    assert reports == []
    put(tmp_path / "no_ids" / name, json.dumps(_without_ids(original.read_bytes(), 0)).encode())
    v3 = nbformat.convert(nbformat.read(original, as_version=4), 3)
    put(tmp_path / "v3" / name, nbformat.writes(v3).encode())
    assert json.loads((tmp_path / "v3" / name).read_text())["nbformat"] == 3
    for variant in ("no_ids", "v3"):
        nb, problem = prepare.read_submission(tmp_path / variant / name)
        ready, reports = prepare.restore(nb, release, name)
        assert (problem, reports) == ("", [])
        assert [c.source for c in ready.cells] == [c.source for c in expected.cells]


def test_a_run_judges_with_the_modules_check_cells_name_and_no_other_import():
    """``import torch.nn.functional as F`` in a release is not an exercise module: the grader
    would import torch (a second or more) before its first kernel starts, to find no solutions."""
    cells = [nbformat.v4.new_code_cell("import torch.nn.functional as F\n"
                                       "from course_utils.exercises import lesson03 as ex\n"
                                       "import course_utils.exercises.lesson04 as other"),
             nbformat.v4.new_code_cell("ex.q1.check(answer)", metadata={"course": {"exercise": "lesson03.q1"}}),
             nbformat.v4.new_code_cell("other.q2.check(x)"),                 # not a check cell: no metadata
             nbformat.v4.new_code_cell("F.q3.check(y)", metadata={"course": {"exercise": "lesson03.q3"}}),
             nbformat.v4.new_code_cell("nowhere.q4.check(z)", metadata={"course": {"exercise": "lesson03.q4"}})]
    assert prepare.checked_modules(cells) == {"course_utils.exercises.lesson03", "torch.nn.functional"}
    cells.pop(3)
    assert prepare.checked_modules(cells) == {"course_utils.exercises.lesson03"}
    course = prepare.load_release(Path(__file__).resolve().parents[2] / "exercises")
    imported = {module for release in course.values() for _line, module in release.imports.values()}
    checked = set().union(*(prepare.checked_modules(release.nb.cells) for release in course.values()))
    assert "torch.nn.functional" in imported - checked
    assert checked == {f"course_utils.exercises.lesson{number}" for number in course}
