"""``--warm-kernels``: the course's validation runs each notebook in a kernel forked from a warm
parent (grading's warm kernels, plain ipykernel), with the numeric variables of make
test-numerics, in the notebook's folder; other kernels stay nbval's own."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import nbformat
import pytest

from course_utils.grade.launcher import sandbox
from course_utils.grade.launcher.sandbox_layout import layout_options
from course_utils.grade.pytest_side import nbval_bridge
from course_utils.grade.pytest_side.validation_kernels import ValidationKernels

SEEN = ('import os, sys\n'
        'preloaded = "torch" in sys.modules\n'
        'import torch\n'
        'import importlib.util\n'
        'open("seen.txt", "w").write(repr((preloaded, os.environ.get("COURSE_GRADING_SCRATCH"),\n'
        '    os.getcwd(), os.environ.get("MKL_CBWR"), torch.backends.cpu.get_cpu_capability(),\n'
        '    os.environ.get("COURSE_GRADING"), importlib.util.find_spec("course_solutions.lesson01")\n'
        '    is not None)))')


def _run(folder, *options) -> tuple:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SEEN),
                nbformat.v4.new_code_cell("print(torch.ones(2).sum().item())", execution_count=2,
                                          outputs=[nbformat.v4.new_output("stream", name="stdout",
                                                                          text="2.0\n")])]
    nbformat.write(nb, folder / "lesson.ipynb")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nbval",
                           "--nbval-current-env", *options, "lesson.ipynb"], cwd=folder,
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, MKL_CBWR="COMPATIBLE", ATEN_CPU_CAPABILITY="default"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return ast.literal_eval((folder / "seen.txt").read_text())


@pytest.mark.skipif(bool(sandbox.problem()), reason=f"no sandbox here: {sandbox.problem()}")
def test_a_notebook_runs_in_a_warm_kernel_in_its_folder_with_the_numeric_variables(tmp_path):
    preloaded, scratch, cwd, mkl, capability, grading, solutions = _run(tmp_path, "--warm-kernels")
    assert preloaded   # forked from the parent that imported torch
    assert scratch == cwd == str(tmp_path.resolve())
    assert (mkl, capability) == ("COMPATIBLE", "DEFAULT")   # make test-numerics' code paths
    assert grading is None   # plain ipykernel: a check() shows its panel as in the course
    assert solutions   # what a notebook's check() compares an answer with


def test_without_the_option_the_kernel_is_nbvals_own(tmp_path):
    preloaded, scratch, cwd, mkl, capability, _, _ = _run(tmp_path)
    assert (preloaded, scratch, mkl, capability) == (False, None, "COMPATIBLE", "DEFAULT")
    assert cwd == str(tmp_path.resolve())


def test_only_nbvals_current_env_kernels_of_collected_notebook_folders_are_served_warm():
    served, original = [], []

    class Pool:
        def start_new_kernel(self, startup_timeout, kernel_name, stderr, cwd):
            served.append(cwd)

    kernels = ValidationKernels.__new__(ValidationKernels)
    kernels.folders, kernels.pool, kernels.refused = {"/course/notebooks"}, Pool(), ""
    kernels.original = lambda **asked: original.append(asked["cwd"])
    kernels.start_new_kernel(60, nbval_bridge.CURRENT_ENV, None, "/course/notebooks")
    kernels.start_new_kernel(60, nbval_bridge.CURRENT_ENV, None, "/somewhere/else")
    kernels.start_new_kernel(60, "python3", None, "/course/notebooks")
    kernels.start_new_kernel(60, nbval_bridge.CURRENT_ENV, None, None)
    assert served == ["/course/notebooks"]
    assert original == ["/somewhere/else", "/course/notebooks", None]
    kernels.refused = "user namespaces are off here"   # no warm parent: nbval's own kernels
    kernels.start_new_kernel(60, nbval_bridge.CURRENT_ENV, None, "/course/notebooks")
    assert served == ["/course/notebooks"] and original[-1] == "/course/notebooks"


def test_only_a_validation_kernel_sees_the_solutions(tmp_path):
    """``--solutions-visible`` binds the solutions into the layout and hides none of them; a
    grading kernelspec never has it."""
    grading = sandbox.kernelspec(2048, tmp_path, [tmp_path], warm=True)
    assert "--solutions-visible" not in grading["argv"]
    args = sandbox.arguments(["--marker-dir", str(tmp_path), "connection.json"])
    assert sandbox.shown(args) == []
    assert set(sandbox.solution_paths()) <= set(sandbox.hidden(args))
    visible = sandbox.arguments(["--marker-dir", str(tmp_path), "--solutions-visible", "c.json"])
    assert sandbox.shown(visible) == sandbox.solution_paths() != []
    assert sandbox.hidden(visible) == []
    options = layout_options(sandbox.hidden(visible), show=sandbox.shown(visible))
    folder = sandbox.solution_paths()[0]
    assert any(options[i:i + 3] == ["--ro-bind", folder, folder] for i in range(len(options)))
    assert not any(folder in option for option in layout_options(sandbox.hidden(args)))
