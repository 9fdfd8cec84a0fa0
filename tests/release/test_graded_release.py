"""The graded release, built by its one command and used as a student would (issue 23).

One build for the session, by its one command (``python -m course_utils release-graded``, started
by conftest.py as soon as collection is done; the expectations recorded on the reference answers
and on the answers of the exercise tests), then:

- its wheel (unzipped) and its notebooks hold no solution code: no run of three consecutive code
  lines of any solution block of solutions/*.ipynb, nor any class or function a solution defines;
- installed into a fresh environment (beside the course's torch, no download; the checkout's
  course_utils and course_solutions out of reach), every exercise notebook run solved with the
  course's solutions says "correct" at every check, and run unsolved "not attempted" (the nine
  notebooks in one kernel whose namespace is reset before each), and the grader reads from the
  solved notebooks' outputs that they ran with this graded release;
- the exercise tests' answers, judged there by the graded release's checks, get the status and
  the message the self-study release gives them.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import textwrap
import zipfile
from pathlib import Path

import nbformat
import pytest

from course_utils.exercises import graded_harness, graded_release
from course_utils.exercises.engine import LABELS
from course_utils.exercises.release import BEGIN, END

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "graded-course"   # the kernel conftest.py's environment registers
STATUS_OF = {label: status for status, label in LABELS.items()}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def release(graded_release):
    """(folder, summary): built by ``python -m course_utils release-graded`` (conftest.py)."""
    return graded_release


@pytest.fixture(scope="module")
def environment(graded_environment):
    """The python of a fresh venv with the graded wheel installed beside .venv's torch (conftest.py)."""
    return graded_environment


def run_in(python: Path, code: str, cwd: Path, env: dict | None = None, timeout: int = 600):
    done = subprocess.run([str(python), "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout


# --- no solution code --------------------------------------------------------------------------------

def code_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def solution_blocks() -> dict[str, list[str]]:
    """The code lines of every solution block of solutions/*.ipynb, by 'notebook, cell id'."""
    blocks = {}
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            inside, lines = False, []
            for line in cell.source.splitlines():
                if line.strip() == BEGIN:
                    inside, lines = True, []
                elif line.strip() == END:
                    inside = False
                    blocks[f"{path.name}, cell {cell.id}, block {len(blocks)}"] = lines
                elif inside:
                    lines.append(line)
    return blocks


def definitions(lines: list[str]) -> list[list[str]]:
    source = textwrap.dedent("\n".join(lines))
    try:
        tree = ast.parse(source)
    except SyntaxError:   # a block inside a def: its lines are searched as they are
        return []
    return [code_lines(ast.get_source_segment(source, node)) for node in tree.body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef))]


def released_texts(out: Path, tmp_path: Path) -> dict[str, list[str]]:
    """Every text file of the release: the wheel unzipped, the notebooks' cells."""
    texts = {}
    for wheel in out.glob("*.whl"):
        with zipfile.ZipFile(wheel) as archive:
            for name in archive.namelist():
                texts[f"{wheel.name}/{name}"] = code_lines(archive.read(name).decode("utf-8", errors="replace"))
    for path in sorted((out / "exercises").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            texts[f"{path.name}, cell {cell.id}"] = code_lines(cell.source)
    for path in out.glob("*.*"):
        if path.suffix in (".md", ".json"):
            texts[path.name] = code_lines(path.read_text())
    return texts


def contains(haystack: list[str], run: list[str]) -> bool:
    return any(haystack[i:i + len(run)] == run for i in range(len(haystack) - len(run) + 1))


def test_the_release_holds_no_solution_code(release, tmp_path):
    """No solution block of solutions/*.ipynb, and no class or function one defines, stands in the
    wheel or the notebooks; nor any four consecutive lines of one, except where the exercise's own
    statement shows them (a debugging exercise quotes the broken code, which the fix mostly keeps)."""
    out, _ = release
    texts = released_texts(out, tmp_path)
    statements = [lines for name, lines in texts.items() if ".ipynb" in name]
    blocks = solution_blocks()
    assert len(blocks) >= 38 and any(name.startswith("course_utils-") for name in texts)
    assert not any("course_solutions/" in name for name in texts)
    searched, leaks = 0, []
    for where, block in blocks.items():
        lines = code_lines("\n".join(block))
        wholes = [lines] + definitions(block)
        for run in [w for w in wholes if len(w) >= 3] + [lines[i:i + 4] for i in range(len(lines) - 3)]:
            searched += 1
            found = [name for name, haystack in texts.items() if contains(haystack, run)]
            if found and len(run) == 4 and run not in wholes and any(contains(s, run) for s in statements):
                continue
            leaks += [f"{where}: {run[0]!r} ({len(run)} lines) in {name}" for name in found]
    assert searched > 200
    assert leaks == []


def test_the_release_says_what_it_is(release):
    out, summary = release
    info = json.loads((out / "release.json").read_text())
    assert info["kind"] == "graded" and info["wheel"] == summary["wheel"] and summary["wheel"].endswith(
        "+graded-py3-none-any.whl")
    with zipfile.ZipFile(out / summary["wheel"]) as archive:
        inner = json.loads(archive.read("course_utils/exercises/recorded/release.json"))
        recorded = [n for n in archive.namelist() if n.startswith("course_utils/exercises/recorded/lesson")]
    assert inner["kind"] == "graded" and len(recorded) == len(summary["files"]) >= 4
    notebooks = sorted((out / "exercises").glob("*.ipynb"))
    assert [p.name for p in notebooks] == sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0]
        assert first.cell_type == "markdown" and first.source.startswith("**Graded release")
        setup = next(c for c in nb.cells if c.cell_type == "code")
        assert setup.source.endswith("show_release()")
    first = nbformat.read(out / "exercises" / "00_start_here.ipynb", as_version=4).cells[0].source
    assert "fresh inputs" in first and "passes here and fails in grading" in first
    assert f"python -m pip install --force-reinstall --no-deps {summary['wheel']}" in (out / "README.md").read_text()


# --- installed, as a student has it ---------------------------------------------------------------

def test_installed_it_is_the_graded_release_without_solutions(environment, tmp_path):
    said = json.loads(run_in(environment, """
        import importlib.util, json
        import course_utils
        from course_utils.exercises import graded, lesson05 as ex
        from course_utils.exercises.engine import SolutionUnavailable
        try:
            ex.q2.solution_object()
            reference = "built"
        except SolutionUnavailable as error:
            reference = str(error)
        print(json.dumps({"file": course_utils.__file__, "solutions": importlib.util.find_spec("course_solutions") is None,
                          "kind": graded.release_kind(), "line": graded.describe_release(),
                          "solution": str(ex.q2.solution()), "hint": str(ex.q2.hint()), "reference": reference}))
        """, tmp_path).splitlines()[-1])
    assert said["file"].startswith(str(environment.parent.parent)), said["file"]
    assert said["solutions"] is True and said["kind"] == "graded"
    assert said["line"].startswith("course_utils 0.1.0: graded release (built ")
    assert said["solution"].splitlines()[:2] == [
        "★ No solution here — lesson05.q2",
        "This is the graded release of the course: the solutions are not part of it. Your instructor "
        "publishes them after the deadline."]
    assert said["hint"].startswith("? Hint 1 of 2 — lesson05.q2")
    assert said["reference"] == "the reference of lesson05.q2 is not part of this release"


RUNNER = """
import json, sys
from pathlib import Path
import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient

paths = [Path(p) for p in sys.argv[1:]]
shared, client = start_new_kernel(kernel_name=%r, cwd=str(paths[0].parent))
client.stop_channels()
results = []
for path in paths:
    # a fresh namespace for every notebook: a name another notebook defined is a NameError again
    # (through a client of its own: one left open while nbclient runs the notebook stops answering)
    client = shared.client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    reset = client.execute_interactive("%%reset -f\\nassert {n for n in dir() if not n.startswith('_')} <= "
                                       "{'In', 'Out', 'exit', 'quit', 'open', 'get_ipython'}, dir()", timeout=60)
    client.stop_channels()
    assert reset["content"]["status"] == "ok", reset["content"]
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name=%r, allow_errors=True, km=shared,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    nbformat.write(nb, path)   # with its outputs, as a student hands it in
    checks, problems, release = {}, [], None
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if output.output_type == "error":
                problems.append(f"cell {cell.id}: {output.ename}: {output.evalue}")
            if output.output_type == "stream" and output.name == "stderr":
                problems.append(f"cell {cell.id} wrote to stderr: {output.text[:300]}")
            if output.output_type == "stream":
                release = next((l for l in output.text.splitlines() if l.startswith("course_utils ")), release)
        exercise = cell.metadata.get("course", {}).get("exercise")
        if exercise:
            shown = [o.get("data", {}).get("text/plain", "") for o in cell.outputs if o.output_type == "display_data"]
            checks[exercise] = shown
    results.append({"checks": checks, "problems": problems, "release": release})
shared.shutdown_kernel(now=True)
print(json.dumps(results))
""" % (KERNEL, KERNEL)


def solved(released: Path, target: Path) -> Path:
    """The released notebook with every stub replaced by the course's solution (by cell id)."""
    source = nbformat.read(ROOT / "solutions" / released.name, as_version=4)
    answers = {cell.id: "\n".join(line for line in cell.source.splitlines() if line.strip() not in (BEGIN, END))
               for cell in source.cells if cell.cell_type == "code" and BEGIN in cell.source}
    nb = nbformat.read(released, as_version=4)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    nbformat.write(nb, target)
    return target


def statuses(result: dict) -> dict[str, str]:
    """exercise -> the status its check showed (from the panel's first line)."""
    found = {}
    for exercise, shown in result["checks"].items():
        heads = [text.splitlines()[0] for text in shown if text]
        labels = [head[2:].split(" — ")[0] for head in heads]
        found[exercise] = "/".join(STATUS_OF.get(label, f"?{label}") for label in labels) or "nothing shown"
    return found


@pytest.fixture(scope="module")
def runs(release, environment, tmp_path_factory):
    """Three runs in the environment, side by side: the notebooks solved, the notebooks unsolved,
    and the exercise tests whose answers were recorded, judged by the graded release
    (``graded_harness`` in replay mode, ``graded_release.replay_tests``)."""
    out, summary = release
    folder = tmp_path_factory.mktemp("runs")
    released = sorted((out / "exercises").glob("*.ipynb"))
    commands = {}
    for kind in ("solved", "unsolved"):
        (folder / kind).mkdir()
        paths = [solved(p, folder / kind / p.name) if kind == "solved" else
                 Path(shutil.copy2(p, folder / kind / p.name)) for p in released]
        # one kernel for the nine notebooks, its namespace reset before each (RUNNER): a notebook
        # that used another's name fails as in a fresh kernel; eight kernel starts (~2 s each) saved
        commands[kind] = ([str(environment), "-c", RUNNER, *map(str, paths)], {})
    tests = summary["tests"]
    commands["tests"] = graded_release.replay_tests(
        environment, [str(ROOT / "tests" / "unit" / name) for name in tests["files"]], tests["select"], folder, ROOT)
    started = {kind: subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**os.environ, **env})
               for kind, (command, env) in commands.items()}
    done = {kind: process.communicate(timeout=1200) for kind, process in started.items()}
    results = {}
    for kind in ("solved", "unsolved"):
        stdout, stderr = done[kind]
        assert started[kind].returncode == 0, stderr[-4000:]
        results[kind] = dict(zip([p.name for p in released], json.loads(stdout.splitlines()[-1])))
    log = folder / "graded.json"
    assert log.exists(), done["tests"][0][-3000:] + done["tests"][1][-3000:]
    results["tests"] = json.loads(log.read_text())
    results["folder"] = folder
    return results


def test_solved_every_check_says_correct(runs):
    solved_runs = runs["solved"]
    assert len(solved_runs) == 9
    found = {exercise: status for result in solved_runs.values() for exercise, status in statuses(result).items()}
    assert len(found) >= 38
    assert {e: s for e, s in found.items() if s != "correct"} == {}
    assert [r["problems"] for r in solved_runs.values() if r["problems"]] == []
    assert {(r["release"] or "").split(" (")[0] for r in solved_runs.values()} == {"course_utils 0.1.0: graded release"}


def test_the_grader_reads_which_release_the_run_notebooks_ran_with(release, runs):
    """What the grader reads from a notebook run with the installed graded release (its stored
    outputs, as handed in) names that release: its version, build date and source."""
    from course_utils.grade.command import prepare

    out, _ = release
    info = json.loads((out / "release.json").read_text())
    labels = {path.name: prepare.ran_with("ada", path.stem, nbformat.read(path, as_version=4)).label
              for path in sorted((runs["folder"] / "solved").glob("*.ipynb"))}
    expected = f"graded release {info['course_utils']} (built {info['built']}" + \
        (f", from {info['source']})" if info["source"] else ")")
    assert len(labels) == 9 and set(labels.values()) == {expected}, labels


def test_unsolved_every_check_says_not_attempted(runs):
    unsolved_runs = runs["unsolved"]
    found = {exercise: status for result in unsolved_runs.values() for exercise, status in statuses(result).items()}
    assert len(found) >= 38
    assert {e: s for e, s in found.items() if s != "not_attempted"} == {}
    assert [r["problems"] for r in unsolved_runs.values() if r["problems"]] == []


# --- the tests' answers, right and wrong ------------------------------------------------------------

def test_the_tests_answers_get_the_self_study_outcome(release, runs, environment):
    """Every answer the exercise tests hand the checks that use references (recorded while the
    release was built, judged there by the self-study checks), judged again by the installed
    graded release: the same status and the same message, and never "correct" for a wrong one."""
    _, summary = release
    tests, graded_log = summary["tests"], runs["tests"]
    assert tests["exit_code"] == 0 and tests["answers"] >= 100
    assert graded_log["release"] == "graded" and graded_log["mode"] == "replay"
    assert graded_log["course_utils"].startswith(str(environment.parent.parent))
    assert graded_log["leaks"] == []
    figures = graded_harness.compare(summary["self_study_log"], graded_log)
    print(json.dumps({k: v for k, v in figures.items() if k not in ("differences", "missing_entries")}))
    assert figures["answers"] == tests["answers"]
    assert figures["false_correct"] == 0
    assert figures["differences"] == [] and figures["missing"] == 0


# --- after the deadline ------------------------------------------------------------------------------

def test_publishing_writes_the_solution_notebooks_and_the_self_study_wheel(tmp_path):
    done = graded_release.publish(tmp_path / "published", ROOT)
    folder = tmp_path / "published"
    assert done["notebooks"] == 9 and done["wheel"] == "course_utils-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(folder / done["wheel"]) as archive:
        names = archive.namelist()
    assert "course_solutions/lesson05.py" in names and not any("/recorded/" in name for name in names)
    for path in sorted((folder / "solutions").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        assert not any(c.metadata.get("course", {}).get("hidden") for c in cells)
        assert any(BEGIN in c.source for c in cells if c.cell_type == "code")
    assert f"--force-reinstall --no-deps {done['wheel']}" in (folder / "README.md").read_text()
