"""The release: solutions/ -> exercises/, its stub rules, and its refusals."""

import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from course_utils.exercises import release
from course_utils.notebooks import KERNELSPEC, LANGUAGE_INFO


def stub(source):
    return release.stub_source(textwrap.dedent(source).strip("\n"))


# --- stub rules -------------------------------------------------------------------------------

def test_top_level_block_binds_every_defined_name_to_not_implemented():
    source = """
        import torch
        ### BEGIN SOLUTION
        class Net(torch.nn.Module):
            pass
        def helper(x):
            return x
        a, (b, *c) = 1, (2, 3)
        d: int = 4
        e = f = 5
        obj.attribute = 6
        for g in range(2):
            h = g
        ### END SOLUTION
        print("after")"""
    assert stub(source).splitlines() == [
        "import torch", "# YOUR CODE HERE", "Net = NotImplemented", "helper = NotImplemented",
        "a = NotImplemented", "b = NotImplemented", "c = NotImplemented", "d = NotImplemented",
        "e = NotImplemented", "f = NotImplemented", "g = NotImplemented", "h = NotImplemented",
        'print("after")']


def test_indented_block_raises_not_implemented_at_its_indentation():
    source = """
        class Net:
            def forward(self, x):
                ### BEGIN SOLUTION
                y = x + 1
                return y
                ### END SOLUTION

        def other():
          ### BEGIN SOLUTION
          return 1
          ### END SOLUTION"""
    assert stub(source) == textwrap.dedent("""\
        class Net:
            def forward(self, x):
                # YOUR CODE HERE
                raise NotImplementedError

        def other():
          # YOUR CODE HERE
          raise NotImplementedError""")


def test_stubbed_code_runs_and_leaves_not_implemented_behind():
    namespace = {}
    exec(stub("""
        ### BEGIN SOLUTION
        def make(n):
            return n
        ### END SOLUTION
        def count(model):
            ### BEGIN SOLUTION
            return 3
            ### END SOLUTION"""), namespace)
    assert namespace["make"] is NotImplemented
    with pytest.raises(NotImplementedError):
        namespace["count"](None)


def test_block_without_names_leaves_the_comment_only():
    assert stub("### BEGIN SOLUTION\nprint(1)\n### END SOLUTION") == "# YOUR CODE HERE"


@pytest.mark.parametrize("source, message", [
    ("### BEGIN SOLUTION\nx = 1", "'### BEGIN SOLUTION' is never closed"),
    ("x = 1\n### END SOLUTION", "line 2: '### END SOLUTION' without a '### BEGIN SOLUTION'"),
    ("### BEGIN SOLUTION\n  ### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### END SOLUTION",
     "line 2: '### BEGIN SOLUTION' inside another solution block (nested markers)"),
    ("### BEGIN SOLUTION\n    x = 1\n### END SOLUTION", "ending on line 3 is not valid Python on its own"),
])
def test_bad_markers_are_refused(source, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        release.stub_source(source)


# --- whole notebooks --------------------------------------------------------------------------

def check_cell(exercise="lesson00.q1", points=1, source="ex.q1.check(make_images)", **extra):
    course = {"exercise": exercise, "points": points} if exercise is not None else {"points": points}
    return new_code_cell(source, metadata={"course": course, **extra})


def good_cells():
    solution = new_code_cell("### BEGIN SOLUTION\ndef make_images(n):\n    return n\n### END SOLUTION",
                             execution_count=2, outputs=[new_output("stream", name="stdout", text="hi\n")])
    check = check_cell(tags=["keep-me"])
    check.execution_count = 3
    check.outputs = [new_output("display_data", data={"text/plain": "✓ Correct"})]
    return [new_markdown_cell("# Title"), new_code_cell("import torch", execution_count=1), solution, check,
            new_code_cell("secret = 1", metadata={"course": {"hidden": True}}), new_code_cell("# ex.q1.hint()")]


def write(root, name, cells, **metadata):
    (root / "solutions").mkdir(exist_ok=True)
    (root / "exercises").mkdir(exist_ok=True)
    nb = new_notebook(cells=cells, metadata=metadata)
    nbformat.write(nb, root / "solutions" / name)
    return nb


def test_release_writes_stubs_clears_outputs_drops_hidden_and_keeps_ids(tmp_path, capsys):
    source = write(tmp_path, "00_start_here.ipynb", good_cells(), widgets={"state": {}},
                   language_info={"name": "python", "version": "3.11.9"})
    assert release.main([], root=tmp_path) == 0
    out = nbformat.read(tmp_path / "exercises" / "00_start_here.ipynb", as_version=4)
    kept = [c for c in source.cells if not c.metadata.get("course", {}).get("hidden")]
    assert [c.id for c in out.cells] == [c.id for c in kept] and len(out.cells) == 5
    assert out.cells[2].source == "# YOUR CODE HERE\nmake_images = NotImplemented"
    assert (out.cells[3].source, out.cells[3].metadata) == (source.cells[3].source, source.cells[3].metadata)
    assert all(c.outputs == [] and c.execution_count is None for c in out.cells if c.cell_type == "code")
    assert "secret" not in (tmp_path / "exercises" / "00_start_here.ipynb").read_text()
    assert out.metadata == {"kernelspec": KERNELSPEC, "language_info": LANGUAGE_INFO}
    assert "released" in capsys.readouterr().out
    assert release.main(["--check"], root=tmp_path) == 0


def test_check_names_stale_missing_and_orphan_files(tmp_path, capsys):
    write(tmp_path, "00_start_here.ipynb", good_cells())
    assert release.main(["--check"], root=tmp_path) == 1
    assert "stale: " + str(tmp_path / "exercises" / "00_start_here.ipynb") in capsys.readouterr().out
    release.main([], root=tmp_path)
    target = tmp_path / "exercises" / "00_start_here.ipynb"
    target.write_text(target.read_text().replace("NotImplemented", "None"))
    assert release.main(["--check"], root=tmp_path) == 1
    assert f"stale: {target}" in capsys.readouterr().out
    release.main([], root=tmp_path)
    (tmp_path / "exercises" / "99_old.ipynb").write_text("{}")
    assert release.main(["--check"], root=tmp_path) == 1
    assert "99_old.ipynb has no source in solutions/" in capsys.readouterr().out


def replace_check(**changes):
    cells = good_cells()
    cells[3] = check_cell(**changes)
    return cells


BAD_SOURCES = {
    "unbalanced": (lambda: good_cells()[:2] + [new_code_cell("### BEGIN SOLUTION\nx = 1")],
                   "cell 3 (index 2, id {id}): '### BEGIN SOLUTION' is never closed"),
    "nested": (lambda: [new_code_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION")],
               "cell 1 (index 0, id {id}): line 2: '### BEGIN SOLUTION' inside another solution block"),
    "no id in metadata": (lambda: replace_check(exercise=None), "cell 4 (index 3, id {id}): check cell without an exercise id"),
    "no metadata at all": (lambda: good_cells()[:3] + [new_code_cell("ex.q1.check(make_images)")],
                           "cell 4 (index 3, id {id}): check cell without an exercise id"),
    "malformed id": (lambda: replace_check(exercise="lesson0.q1"), "malformed exercise id 'lesson0.q1'"),
    "duplicate id": (lambda: good_cells() + [check_cell()],
                     "cell 7 (index 6, id {id}): exercise id 'lesson00.q1' is used twice (also in "),
    "unknown exercise": (lambda: replace_check(exercise="lesson00.q9", source="ex.q9.check(x)"),
                         "exercise 'lesson00.q9': course_utils.exercises.lesson00.q9 is not an exercise with that id"),
    "unknown lesson": (lambda: replace_check(exercise="lesson42.q1"),
                       "exercise 'lesson42.q1': there is no module course_utils.exercises.lesson42"),
    "metadata and call disagree": (lambda: replace_check(exercise="lesson00.q2"),
                                   "its metadata says 'lesson00.q2' but its source calls q1.check(...)"),
    "bad points": (lambda: replace_check(points=0), "points must be a positive whole number, not 0"),
    "markers in a check cell": (lambda: replace_check(source="### BEGIN SOLUTION\nex.q1.check(1)\n### END SOLUTION"),
                                "a check cell must not contain solution markers"),
    "markers in markdown": (lambda: [new_markdown_cell("### BEGIN SOLUTION\nx\n### END SOLUTION")],
                            "solution markers are only allowed in code cells"),
}


@pytest.mark.parametrize("case", sorted(BAD_SOURCES))
def test_bad_input_stops_the_release_naming_notebook_and_cell(case, tmp_path, capsys):
    make_cells, message = BAD_SOURCES[case]
    cells = make_cells()
    write(tmp_path, "00_start_here.ipynb", good_cells())   # a good notebook: must not be written either
    write(tmp_path, "01_layers.ipynb", cells)
    assert release.main([], root=tmp_path) == 2
    err = capsys.readouterr().err
    bad_index = int(message.split("index ")[1].split(",")[0]) if "index " in message else None
    expected = message.format(id=repr(cells[bad_index].id)) if bad_index is not None else message
    assert "release stopped, nothing written" in err
    assert str(tmp_path / "solutions" / "01_layers.ipynb") in err and expected in err
    assert list((tmp_path / "exercises").iterdir()) == []


def test_cells_without_ids_are_refused(tmp_path, capsys):
    path = tmp_path / "solutions" / "00_start_here.ipynb"
    write(tmp_path, "00_start_here.ipynb", [new_code_cell("x = 1")])
    nb = nbformat.read(path, as_version=4)
    nb.nbformat_minor = 4
    del nb.cells[0]["id"]
    nbformat.write(nb, path)
    assert release.main([], root=tmp_path) == 2
    assert "cell 1 (index 0, id None): the cell has no id" in capsys.readouterr().err


# --- points: declared once, on the exercise class ----------------------------------------------

def test_points_that_disagree_with_the_exercise_class_stop_the_release_naming_file_and_cell(tmp_path, capsys):
    from course_utils.exercises import lesson00

    cells = replace_check(points=lesson00.q1.points + 1)
    write(tmp_path, "00_start_here.ipynb", cells)
    assert release.main([], root=tmp_path) == 2
    err = capsys.readouterr().err
    assert (f"{tmp_path / 'solutions' / '00_start_here.ipynb'}, cell 4 (index 3, id {cells[3].id!r}): exercise "
            f"'lesson00.q1': the cell's metadata says \"points\": {lesson00.q1.points + 1}, but "
            f"course_utils.exercises.lesson00.q1 declares points = {lesson00.q1.points}. Points are declared once, "
            "on the exercise class") in err
    assert list((tmp_path / "exercises").iterdir()) == []


def test_the_release_writes_the_classes_points_into_the_check_cells(tmp_path, monkeypatch):
    from course_utils.exercises import lesson00

    cells = good_cells()
    del cells[3].metadata["course"]["points"]          # left out: the release sets them
    write(tmp_path, "00_start_here.ipynb", cells)
    monkeypatch.setattr(lesson00.q1, "points", 5)
    assert release.main([], root=tmp_path) == 0
    out = nbformat.read(tmp_path / "exercises" / "00_start_here.ipynb", as_version=4)
    assert out.cells[3].metadata["course"] == {"exercise": "lesson00.q1", "points": 5}


def test_an_exercise_class_with_bad_points_stops_the_release(tmp_path, monkeypatch, capsys):
    from course_utils.exercises import lesson00

    cells = good_cells()
    del cells[3].metadata["course"]["points"]
    write(tmp_path, "00_start_here.ipynb", cells)
    monkeypatch.setattr(lesson00.q1, "points", 0)
    assert release.main([], root=tmp_path) == 2
    assert "course_utils.exercises.lesson00.q1.points must be a positive whole number, not 0" in capsys.readouterr().err


def test_every_released_check_cell_carries_its_exercise_classes_points():
    import importlib

    from course_utils.notebooks import ROOT

    checked = 0
    for path in sorted((ROOT / "exercises").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            course = cell.metadata.get("course", {})
            if "exercise" in course:
                lesson, attribute = course["exercise"].split(".")
                exercise = getattr(importlib.import_module(f"course_utils.exercises.{lesson}"), attribute)
                assert course["points"] == exercise.points, f"{path.name}: {course}"
                checked += 1
    assert checked >= 30


# --- python -m course_utils: the commands under one name ------------------------------------------------

def test_the_course_command_lists_every_command_and_refuses_unknown_ones(capsys):
    from course_utils import __main__ as course

    assert course.main(["--help"]) == 0
    shown = capsys.readouterr().out
    for name in ("release", "release-graded", "publish-solutions", "grade", "notebooks"):
        assert f"\n  {name} " in shown
    assert "python -m course_utils release-graded build/graded-release" in shown
    assert course.main([]) == 2 and "usage: python -m course_utils COMMAND" in capsys.readouterr().out
    assert course.main(["relaese"]) == 2
    assert "unknown command 'relaese'" in capsys.readouterr().err


def test_release_graded_and_publish_solutions_are_the_release_command_s_options():
    from course_utils import __main__ as course

    assert course.translated("release-graded", ["out", "--solutions-published", "on 14 March", "--summary", "s.json"]) \
        == ["--graded", "out", "--solutions-published", "on 14 March", "--summary", "s.json"]
    assert course.translated("release-graded", ["out"]) == ["--graded", "out"]
    assert course.translated("publish-solutions", ["sol"]) == ["--publish-solutions", "sol"]
    assert course.translated("grade", ["subs", "--out", "r"]) == ["subs", "--out", "r"]
    with pytest.raises(SystemExit):          # FOLDER is required
        course.translated("release-graded", [])


@pytest.mark.parametrize("command, mark", [("release-graded", "release.json"), ("publish-solutions", "solutions")])
def test_the_commands_reach_the_release_which_refuses_a_folder_it_did_not_write(command, mark, tmp_path, capsys):
    """Through ``python -m course_utils`` the graded build and publishing run as themselves: both
    stop, before a minute of recording, at a folder that is not theirs, and leave it alone."""
    from course_utils import __main__ as course

    (tmp_path / "notes.txt").write_text("mine")
    assert course.main([command, str(tmp_path)]) == 2
    assert f"is not empty and holds no {mark}" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_grade_and_release_are_the_modules_own_commands(capsys):
    from course_utils import __main__ as course

    with pytest.raises(SystemExit) as exit_:
        course.main(["grade", "--help"])
    assert exit_.value.code == 0 and "usage: python -m course_utils.grade" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        course.main(["release", "--help"])
    assert exit_.value.code == 0 and "--graded FOLDER" in capsys.readouterr().out


def test_python_dash_m_course_utils_runs_as_a_program(tmp_path):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "course_utils", "release-graded", "--help"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and "usage: python -m course_utils release-graded" in done.stdout
    assert "--solutions-published WHEN" in done.stdout
