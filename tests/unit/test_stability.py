"""`python -m course_utils.notebooks stability` reports exactly the cells nbval would fail.

The comparison is tested on small notebooks made here (stored outputs against new ones); the
slow tests run real kernels: a value that changes from run to run, a variant's environment,
and the same notebooks under `pytest --nbval`, which must fail the same cells.
"""

import re
import subprocess
import sys
from collections import OrderedDict

import nbformat
import pytest

from course_utils import stability
from course_utils.stability import CellDifference, compare_outputs, differences

NO_PATTERNS = OrderedDict()


def _stdout(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _result(text, **more):
    return nbformat.v4.new_output("execute_result", data={"text/plain": text, **more}, execution_count=1)


def _notebook(*cells):
    """cells: (source, stored outputs, tags)."""
    nb = nbformat.v4.new_notebook()
    for count, (source, outputs, tags) in enumerate(cells, start=1):
        cell = nbformat.v4.new_code_cell(source, outputs=outputs, execution_count=count)
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def _run(stored, *new_outputs):
    """A run of ``stored`` in which the code cells printed ``new_outputs`` (None: not run)."""
    executed = nbformat.from_dict(nbformat.v4.new_notebook())
    code = iter(new_outputs)
    for cell in stored.cells:
        copy = nbformat.from_dict(dict(cell))
        if cell.cell_type == "code":
            copy.outputs = next(code)
        executed.cells.append(copy)
    return executed


def test_a_differing_cell_is_reported_and_an_ignored_one_is_not():
    stored = _notebook(("print(1)", [_stdout("1\n")], ()),
                       ("print(loss)", [_stdout("loss 0.0008\n")], ()),
                       ("print(loss)", [_stdout("loss 0.0008\n")], ("nbval-ignore-output",)))
    run = _run(stored, [_stdout("1\n")], [_stdout("loss 0.0010\n")], [_stdout("loss 0.0010\n")])
    found = differences("demo.ipynb", stored, run, NO_PATTERNS)
    assert [(d.cell, d.cell_id) for d in found] == [(1, stored.cells[1].id)]
    assert found[0].what == "stdout:\n- loss 0.0008\n+ loss 0.0010"
    assert found[0].name == f"demo.ipynb Cell 1 (id {stored.cells[1].id})"


def test_the_same_outputs_are_no_difference():
    stored = _notebook(("x", [_result("42")], ()), ("print(2)", [_stdout("2\n")], ()))
    assert differences("demo.ipynb", stored, _run(stored, [_result("42")], [_stdout("2\n")]), NO_PATTERNS) == []


def test_numbering_counts_code_cells_only_from_zero_as_nbval_does():
    stored = _notebook(("print(1)", [_stdout("1\n")], ()), ("print(2)", [_stdout("2\n")], ()))
    stored.cells.insert(0, nbformat.v4.new_markdown_cell("# title"))
    found = differences("demo.ipynb", stored, _run(stored, [_stdout("1\n")], [_stdout("3\n")]), NO_PATTERNS)
    assert [d.cell for d in found] == [1]


def test_comment_marker_ignores_output_like_the_tag():
    stored = _notebook(("# NBVAL_IGNORE_OUTPUT\nprint(t)", [_stdout("0.1\n")], ()))
    assert differences("demo.ipynb", stored, _run(stored, [_stdout("0.2\n")]), NO_PATTERNS) == []


def test_skipped_cells_are_neither_run_nor_compared():
    stored = _notebook(("slow()", [_stdout("done\n")], ("nbval-skip",)))
    assert differences("demo.ipynb", stored, _run(stored, None), NO_PATTERNS) == []


def test_sanitize_rules_apply_to_both_sides():
    stored = _notebook(("check()", [_result("✓ Correct. Measured: test accuracy 98.0 %")], ()))
    run = _run(stored, [_result("✓ Correct. Measured: test accuracy 97.7 %")])
    assert len(differences("demo.ipynb", stored, run, NO_PATTERNS)) == 1
    patterns = OrderedDict([(r"test accuracy \d+\.\d %", "test accuracy N %")])
    assert differences("demo.ipynb", stored, run, patterns) == []
    wrong = _run(stored, [_result("✗ Incorrect. Measured: test accuracy 97.7 %")])
    assert len(differences("demo.ipynb", stored, wrong, patterns)) == 1


def test_the_course_sanitize_file_is_read_like_nbval_reads_it():
    patterns = stability.sanitize_patterns()
    assert r"(?s)<svg.*</svg>" in patterns
    svg = '<svg width="10"><g id="node1"/></svg>'
    stored = _notebook(("draw()", [_result("graph: 3 nodes", **{"image/svg+xml": svg})], ()))
    moved = _run(stored, [_result("graph: 3 nodes", **{"image/svg+xml": svg.replace("10", "12")})])
    assert differences("demo.ipynb", stored, moved, patterns) == []
    other = _run(stored, [_result("graph: 4 nodes", **{"image/svg+xml": svg})])
    assert len(differences("demo.ipynb", stored, other, patterns)) == 1


def test_streams_are_joined_and_images_not_compared():
    stored = _notebook(("train()", [_stdout("epoch 1\n"), _stdout("epoch 2\n"),
                                    nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>",
                                                                                  "image/png": "AAAA"})], ()))
    run = _run(stored, [_stdout("epoch 1\nepoch 2\n"),
                        nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>", "image/png": "BBBB"})])
    assert differences("demo.ipynb", stored, run, NO_PATTERNS) == []


def test_a_new_stderr_stream_or_a_missing_output_is_a_difference():
    stored = _notebook(("f()", [_stdout("ok\n")], ()))
    warned = _run(stored, [_stdout("ok\n"), nbformat.v4.new_output("stream", name="stderr", text="Warning\n")])
    assert differences("demo.ipynb", stored, warned, NO_PATTERNS)[0].what == "unexpected output fields: stderr"
    silent = _run(stored, [])
    assert differences("demo.ipynb", stored, silent, NO_PATTERNS)[0].what == "missing output fields: stdout"


def test_errors_fail_unless_the_cell_expects_one():
    error = nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=["..."])
    stored = _notebook(("1 / 0", [error], ("raises-exception",)), ("1 / 0", [], ()))
    found = differences("demo.ipynb", stored, _run(stored, [error], [error]), NO_PATTERNS)
    assert [(d.cell, d.what) for d in found] == [(1, "raised ZeroDivisionError: division by zero")]
    other = nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[])
    assert differences("demo.ipynb", stored, _run(stored, [other], []), NO_PATTERNS)[0].what.startswith("ename")


def test_a_timeout_is_reported_and_the_cells_after_it_are_not():
    timeout = nbformat.v4.new_output("error", ename=stability.TIMEOUT, evalue="", traceback=[])
    stored = _notebook(("loop()", [], ()), ("print(1)", [_stdout("1\n")], ()))
    found = differences("demo.ipynb", stored, _run(stored, [timeout], None), NO_PATTERNS)
    assert [(d.cell, d.what) for d in found] == [(0, f"timed out ({stability.CELL_TIMEOUT} s)")]


def test_compare_outputs_says_what_differs():
    assert compare_outputs([_result("1")], [_result("1"), _result("2")], NO_PATTERNS) == \
        "text/plain: 1 outputs instead of 2"
    assert compare_outputs([_result("1")], [_result("1")], NO_PATTERNS) is None


def test_a_variant_sets_exactly_its_numeric_variables(monkeypatch):
    monkeypatch.setenv("MKL_CBWR", "AUTO")
    monkeypatch.setenv("COURSE_SOMETHING", "kept")
    plain = stability.variant_environment("plain")
    assert "MKL_CBWR" not in plain and plain["COURSE_SOMETHING"] == "kept"
    assert stability.variant_environment("mkl-avx2")["MKL_CBWR"] == "AVX2"
    compatible = stability.variant_environment("compatible")
    assert {name: compatible[name] for name in stability.NUMERIC_VARIABLES} == stability.VARIANTS["compatible"]


def test_runs_take_the_variants_in_turn_and_unknown_ones_are_refused():
    assert stability.plan(5, ["plain", "compatible"]) == ["plain", "compatible", "plain", "compatible", "plain"]
    with pytest.raises(ValueError, match="unknown variant 'fast'"):
        stability.stability([], runs=1, variants=["fast"])
    assert set(stability.VARIANTS) >= {"plain", "compatible", "mkl-avx2"}


def test_default_notebooks_are_those_with_stored_outputs(repo_root):
    paths = stability.stored_notebooks(repo_root)
    assert {p.parent.name for p in paths} == {"notebooks", "solutions"}
    assert len(paths) == len(list((repo_root / "notebooks").glob("*.ipynb"))) * 2


# --- real kernels ----------------------------------------------------------------------------

def _write(path, cells):
    nb = _notebook(*cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return nb


@pytest.mark.slow
def test_a_real_run_reports_a_changing_cell_and_the_variant_environment(tmp_path, capsys):
    _write(tmp_path / "demo.ipynb", [
        ("print(6 * 7)", [_stdout("42\n")], ()),
        ("import time\nprint(time.time_ns())", [_stdout("1\n")], ()),
        ("import time\nprint(time.time_ns())", [_stdout("1\n")], ("nbval-ignore-output",)),
        ("import os\nprint(os.environ.get('MKL_CBWR'))", [_stdout("None\n")], ()),
        ("import sys\nprint('warned', file=sys.stderr)", [_stdout("x\n")], ("nbval-skip",)),
    ])
    plain = stability.check_notebook(tmp_path / "demo.ipynb", "plain")
    assert [d.cell for d in plain] == [1]
    compatible = stability.check_notebook(tmp_path / "demo.ipynb", "compatible")
    assert [d.cell for d in compatible] == [1, 3]
    assert compatible[1].what == "stdout:\n- None\n+ COMPATIBLE"
    assert stability.main(["--runs", "2", "--variants", str(tmp_path / "demo.ipynb")]) == 1
    out = capsys.readouterr().out
    assert "Cell 1 (id " in out and "differs in 2 of 2 runs (plain 1, compatible 1)" in out
    assert "Cell 3 (id " in out and "differs in 1 of 2 runs (compatible 1)" in out
    assert out.rstrip().endswith("2 differing cell(s)")


@pytest.mark.slow
def test_it_fails_the_cells_nbval_fails(tmp_path):
    error = nbformat.v4.new_output("error", ename="KeyError", evalue="'a'", traceback=[])
    _write(tmp_path / "same.ipynb", [("print(6 * 7)", [_stdout("42\n")], ())])
    _write(tmp_path / "mixed.ipynb", [
        ("print(6 * 7)", [_stdout("41\n")], ()),
        ("print('<svg>a</svg>')", [_stdout("<svg>b</svg>\n")], ()),
        ("{}['a']", [error], ("raises-exception",)),
        ("1 / 0", [], ()),
        ("print(1)\nprint(2)", [_stdout("1\n"), _stdout("2\n")], ()),
        ("# NBVAL_IGNORE_OUTPUT\nprint(3)", [_stdout("4\n")], ()),
        ("from IPython.display import display, clear_output\ndisplay(1)\nclear_output()\ndisplay(2)",
         [_result("1"), _result("2")], ()),
    ])
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    nbval_failed, ours = [], []
    for name in ("same.ipynb", "mixed.ipynb"):
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
             "--nbval-sanitize-with", str(stability.SANITIZE_FILE), "-rA", "-q", name],
            cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert re.search(r"^\d+ (passed|failed)", run.stdout.splitlines()[-1]), run.stdout
        nbval_failed += [(name, int(n)) for n in re.findall(r"^FAILED \S*::Cell (\d+)", run.stdout, re.M)]
        ours += [(name, d.cell) for d in stability.check_notebook(tmp_path / name)]
    assert nbval_failed == [("mixed.ipynb", 0), ("mixed.ipynb", 3)]
    assert ours == nbval_failed
    assert isinstance(stability.check_notebook(tmp_path / "mixed.ipynb")[0], CellDifference)


def test_make_test_runs_the_notebooks_under_the_compatible_variant(repo_root):
    makefile = (repo_root / "Makefile").read_text()
    variant = re.search(r"^NUMERIC_VARIANT := (.+)$", makefile, re.M).group(1).split()
    assert dict(pair.split("=", 1) for pair in variant) == stability.VARIANTS["compatible"]
    numeric = re.search(r"^test-numerics: setup\n((?:\t.*\n)+)", makefile, re.M).group(1)
    assert "env $(NUMERIC_VARIANT) $(BIN)/pytest $(NUMERIC_ARGS)" in numeric
    assert re.search(r"^test: setup\n(?:\t.*\n)*\t\$\(MAKE\) test-numerics\n", makefile, re.M)
    arguments = re.search(r"^NUMERIC_ARGS := ((?:.*\\\n)*.*)$", makefile, re.M).group(1)
    assert arguments.split()[-2:] == ["notebooks", "solutions"]
    assert "--nbval-sanitize-with tests/nbval_sanitize.cfg" in arguments
