"""check_environment() gives a verdict a student can act on; seed_everything() repeats numbers."""

import importlib.util
import re
import shutil
import subprocess
import sys

import torch

from course_utils import environment
from course_utils.environment import Check, EnvironmentReport, check_environment, seed_everything


def test_seed_everything_repeats_random_tensors():
    seed_everything(0)
    first = torch.randn(3)
    seed_everything(0)
    assert torch.equal(first, torch.randn(3))
    seed_everything(1)
    assert not torch.equal(first, torch.randn(3))


def test_report_on_this_machine_is_ready():
    report = check_environment()
    names = [c.name for c in report.checks]
    assert names[:4] == ["Python", "PyTorch", "torch build", "Memory"]
    assert report.ok, str(report)
    assert "Graphviz (dot)" in names


def test_missing_graphviz_is_optional_and_says_how_to_install(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "dot" else real_which(name))
    report = check_environment()
    graphviz = next(c for c in report.checks if c.name == "Graphviz (dot)")
    assert not graphviz.ok and not graphviz.required
    assert "apt-get install graphviz" in graphviz.detail
    assert report.ok
    assert report.verdict.startswith("Ready. Optional parts missing: Graphviz (dot)")


def test_a_missing_required_part_makes_the_verdict_say_what_to_fix():
    report = EnvironmentReport([Check("Python", True, "3.11"), Check("PyTorch", False, "not installed"),
                                Check("Graphviz (dot)", False, "missing", required=False)])
    assert not report.ok
    assert report.verdict == "Not ready: fix PyTorch (see the README's set-up command)."
    assert "NO PyTorch" in str(report)
    assert "❌" in report._repr_html_()


def test_the_torch_build_is_the_one_torch_itself_reports():
    expected = "CPU" if torch.version.cuda is None else f"CUDA {torch.version.cuda}"
    assert environment.torch_build() == expected


def fake_torch(tmp_path, monkeypatch, version_py):
    package = tmp_path / "torch"
    package.mkdir(exist_ok=True)
    (package / "version.py").write_text(version_py)
    spec = importlib.util.spec_from_file_location(
        "torch", package / "__init__.py", submodule_search_locations=[str(package)])
    monkeypatch.setattr(environment.importlib.util, "find_spec",
                        lambda name: spec if name == "torch" else None)


def test_the_build_is_read_from_version_py_without_importing_torch(tmp_path, monkeypatch):
    fake_torch(tmp_path, monkeypatch, "__version__ = '2.13.0+cu130'\n"
               "cuda: Optional[str] = '13.0'\nhip: Optional[str] = None\n")
    assert environment.torch_build() == "CUDA 13.0"
    fake_torch(tmp_path, monkeypatch, "__version__ = '2.13.0+cpu'\ncuda: Optional[str] = None\n"
               "hip: Optional[str] = None\nxpu: Optional[str] = None\n")
    assert environment.torch_build() == "CPU"
    monkeypatch.setattr(environment.importlib.util, "find_spec", lambda name: None)
    assert environment.torch_build() is None
    assert environment.torch_install_line() == "torch is not installed"


def test_the_install_line_names_the_build_and_its_size():
    size, libraries = environment.torch_disk_bytes()
    assert size > 100e6  # torch's own files alone are several hundred MB
    line = environment.torch_install_line()
    assert line.startswith(f"torch {torch.__version__.split('+')[0]}")
    assert f"the {environment.torch_build()} build, {size / 1e9:.1f} GB on disk" in line
    assert ("the course needs only the CPU build" in line) == (torch.version.cuda is not None)
    assert (libraries > 0) == (torch.version.cuda is not None)


def test_a_cuda_build_is_reported_as_working_but_not_needed(monkeypatch):
    monkeypatch.setattr(environment, "torch_build", lambda: "CUDA 13.0")
    report = check_environment()
    build = next(c for c in report.checks if c.name == "torch build")
    assert build.ok and build.detail.startswith("CUDA 13.0: works, but the CPU build is all")
    assert "the course needs only the CPU build" in environment.torch_install_line()


def test_import_memory_is_this_process_rounded():
    memory = environment.import_memory()
    found = re.fullmatch(r"(\d+\.\d) GB of address space, (\d+\.\d) GB resident", memory)
    assert found, memory
    address, resident = map(float, found.groups())
    assert address >= resident > 0  # torch is imported here: a tenth of a GB at least


def test_python_m_course_utils_environment_prints_the_line():
    done = subprocess.run([sys.executable, "-m", "course_utils.environment"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == environment.torch_install_line() + "\n"
    assert done.stderr == ""
