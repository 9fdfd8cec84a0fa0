"""The repository's own gates: notebooks stored clean, environment.yml in sync with pyproject.

And proof that the gates bite: a stale output, a notebook that raises and a scrambled
execution order each make the tests fail (the meta-tests at the bottom run pytest --nbval on
small notebooks made here).
"""

import re
import subprocess
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI (a test dependency there)
    import tomli as tomllib

import nbformat
import pytest
import yaml
from packaging.requirements import Requirement

from course_utils.notebooks import course_notebooks, problems

ROOT = Path(__file__).resolve().parents[2]

# conda-forge name -> PyPI name, where they differ
CONDA_TO_PIP = {"pytorch": "torch", "python-graphviz": "graphviz"}
# conda entries that are not Python packages of the course
CONDA_ONLY = {"python", "pip", "graphviz"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!\[;~]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def pip_packages(pyproject_text: str, python: str = "3.11") -> set[str]:
    """The packages pyproject.toml installs on ``python`` (environment.yml's version)."""
    project = tomllib.loads(pyproject_text)["project"]
    requirements = [Requirement(r) for r in
                    project["dependencies"] + project["optional-dependencies"]["test"]]
    return {_name(r.name) for r in requirements
            if r.marker is None or r.marker.evaluate({"python_version": python})}


def conda_packages(environment_text: str) -> set[str]:
    names = set()
    for entry in yaml.safe_load(environment_text)["dependencies"]:
        if isinstance(entry, dict):  # the pip: section
            names |= {_name(r) for r in entry["pip"] if not r.startswith("-")}
            continue
        name = _name(entry.strip("\"'"))
        if name not in CONDA_ONLY:
            names.add(CONDA_TO_PIP.get(name, name))
    return names


def conda_python(environment_text: str) -> str:
    """The Python version environment.yml asks for (``python=3.11`` -> ``3.11``)."""
    pins = [e for e in yaml.safe_load(environment_text)["dependencies"]
            if isinstance(e, str) and _name(e) == "python"]
    return pins[0].split("=", 1)[1].strip()


def environment_drift(pyproject_text: str, environment_text: str) -> list[str]:
    pip = pip_packages(pyproject_text, conda_python(environment_text))
    conda = conda_packages(environment_text)
    return ([f"only in pyproject.toml: {n}" for n in sorted(pip - conda)]
            + [f"only in environment.yml: {n}" for n in sorted(conda - pip)])


def test_environment_yml_lists_the_pyproject_packages():
    drift = environment_drift((ROOT / "pyproject.toml").read_text(), (ROOT / "environment.yml").read_text())
    assert drift == []


def test_environment_drift_is_caught():
    pyproject = (ROOT / "pyproject.toml").read_text()
    environment = (ROOT / "environment.yml").read_text()
    dropped = environment.replace("  - tqdm>=4.66\n", "")
    assert dropped != environment
    assert environment_drift(pyproject, dropped) == ["only in pyproject.toml: tqdm"]
    added = environment.replace("  - pip\n", "  - pip\n  - scipy\n")
    assert environment_drift(pyproject, added) == ["only in environment.yml: scipy"]
    older = environment.replace("  - python=3.11\n", "  - python=3.10\n")
    assert older != environment
    assert environment_drift(pyproject, older) == ["only in pyproject.toml: tomli"]


def test_the_lock_pins_torch_to_the_cpu_build_version():
    lock = (ROOT / "requirements" / "lock.txt").read_text().splitlines()
    assert "torch==2.13.0" in lock
    assert not [line for line in lock if line.startswith(("nvidia-", "triton"))]


def supported_pythons() -> list[str]:
    """The versions pyproject.toml's classifiers name (``Programming Language :: Python :: 3.10``)."""
    classifiers = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["classifiers"]
    prefix = "Programming Language :: Python :: "
    return [c[len(prefix):] for c in classifiers if c.startswith(prefix) and c.count(".") == 1
            and c[len(prefix):].replace(".", "").isdigit()]


def lock_pins(lock_text: str, python: str) -> dict[str, list[str]]:
    """Package -> the versions the lock pins for ``python`` (lines whose markers apply)."""
    pins: dict[str, list[str]] = {}
    for line in lock_text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement = Requirement(line)
        environment = {"python_version": python, "python_full_version": python + ".0",
                       "sys_platform": "linux", "platform_system": "Linux",
                       "platform_machine": "x86_64", "implementation_name": "cpython",
                       "platform_python_implementation": "CPython"}
        if requirement.marker is None or requirement.marker.evaluate(environment):
            pins.setdefault(_name(requirement.name), []).append(str(requirement.specifier))
    return pins


def test_the_lock_pins_every_dependency_once_on_every_supported_python():
    """One lock for every Python the classifiers name: each dependency pinned exactly once."""
    lock = (ROOT / "requirements" / "lock.txt").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert supported_pythons() == ["3.10", "3.11", "3.12", "3.13"]
    for python in supported_pythons():
        pins = lock_pins(lock, python)
        missing = sorted(pip_packages(pyproject, python) - set(pins))
        assert missing == [], f"not pinned for Python {python}"
        loose = {name: specs for name, specs in pins.items()
                 if len(specs) != 1 or not specs[0].startswith("==")}
        assert loose == {}, f"pinned twice or not exactly for Python {python}"


@pytest.mark.parametrize("path", course_notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_stored_clean(path):
    assert problems(path) == []


# --- the gates bite -------------------------------------------------------------------------

def _notebook(path, sources_and_outputs, counts=None):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, (source, stdout) in enumerate(sources_and_outputs):
        cell = nbformat.v4.new_code_cell(source)
        cell.execution_count = counts[i] if counts else i + 1
        if stdout is not None:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stdout)]
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_problems_reports_execution_order_and_stored_errors(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shuffled = _notebook(folder / "shuffled.ipynb", [("print(1)", "1\n"), ("print(2)", "2\n")], counts=[2, 1])
    assert problems(shuffled) == [
        f"{shuffled}: execution counts are [2, 1], expected 1..2 in order "
        f"(run: python -m course_utils.notebooks refresh {shuffled})"]
    clean = _notebook(folder / "clean.ipynb", [("print(1)", "1\n"), ("print(2)", "2\n")])
    assert problems(clean) == []
    broken = folder / "broken.ipynb"
    broken.write_text("{ not json")
    assert problems(broken)[0].startswith(f"{broken}: not a valid notebook")


@pytest.mark.slow
def test_nbval_fails_on_stale_outputs_and_on_errors(tmp_path):
    _notebook(tmp_path / "fresh.ipynb", [("print(6 * 7)", "42\n")])
    _notebook(tmp_path / "stale.ipynb", [("print(6 * 7)", "41\n")])
    _notebook(tmp_path / "raises.ipynb", [("1 / 0", None)])
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-p", "no:cacheprovider",
         "-rA", "-q", "fresh.ipynb", "stale.ipynb", "raises.ipynb"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    report = run.stdout
    assert run.returncode == 1, report
    assert re.search(r"^PASSED fresh\.ipynb::", report, re.M), report
    assert re.search(r"^FAILED stale\.ipynb::", report, re.M), report
    assert re.search(r"^FAILED raises\.ipynb::", report, re.M), report
    assert "ZeroDivisionError" in report


@pytest.mark.parametrize("path", [p for p in course_notebooks() if p.parent.name != "exercises"],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_checked_claims_are_compared(path):
    """A cell that checks the claims of the text (check_claims) is compared by nbval: tagged
    nbval-ignore-output or nbval-skip it would check nothing."""
    nb = nbformat.read(path, as_version=4)
    for number, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        if "check_claims(" in cell.source:
            tags = set(cell.metadata.get("tags", []))
            assert not tags & {"nbval-ignore-output", "nbval-skip"}, f"code cell {number + 1} (id {cell.id})"
            assert "NBVAL_IGNORE_OUTPUT" not in cell.source and "NBVAL_SKIP" not in cell.source
            assert cell.outputs and "✗" not in "".join(o.get("text", "") for o in cell.outputs)
