"""Environment check and seeding, used by ``00_start_here`` and the first cell of every lesson.

Why seeding lives here: stored notebook outputs are compared by ``pytest --nbval``, so every
random tensor a lesson prints must be the same on every run and every machine of this kind.

Why the torch build is reported: pip's default index gives Linux users the CUDA build of
torch (about 5 GB with its CUDA libraries, about 3 GB of address space once imported) where
the CPU build (under 1 GB) is all the course needs. ``python -m course_utils.environment``
prints which build is installed and what it costs on disk; the set-up runs it.
"""

from __future__ import annotations

import html
import importlib.metadata
import importlib.util
import platform
import random
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

# The torch build the course is tested with (see requirements/lock.txt).
TESTED_TORCH = "2.13.0"


def seed_everything(seed: int = 0) -> None:
    """Make a lesson's random numbers repeatable: Python, NumPy and torch, one CPU thread.

    One thread because float sums may be reordered across threads, which changes the last
    printed digit of a result from one run to the next.
    """
    import torch

    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # numpy is optional for torch itself
        pass
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    torch.set_printoptions(precision=4, sci_mode=False)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


@dataclass
class EnvironmentReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every required part is there (Graphviz and a GPU are optional)."""
        return all(c.ok for c in self.checks if c.required)

    @property
    def verdict(self) -> str:
        if not self.ok:
            missing = ", ".join(c.name for c in self.checks if c.required and not c.ok)
            return f"Not ready: fix {missing} (see the README's set-up command)."
        optional = [c.name for c in self.checks if not c.required and not c.ok]
        if optional:
            return "Ready. Optional parts missing: " + ", ".join(optional) + "."
        return "Ready: everything the course uses is installed."

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks)
        lines = [f"{'ok ' if c.ok else ('-- ' if not c.required else 'NO ')}"
                 f"{c.name:<{width}}  {c.detail}" for c in self.checks]
        return "\n".join(lines + ["", self.verdict])

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{'✅' if c.ok else ('➖' if not c.required else '❌')}</td>"
            f"<td>{html.escape(c.name)}</td><td>{html.escape(c.detail)}</td></tr>"
            for c in self.checks)
        return (f"<table>{rows}</table><p><b>{html.escape(self.verdict)}</b></p>")

    def __repr__(self) -> str:
        return str(self)


def torch_build() -> str | None:
    """``"CPU"``, ``"CUDA 13.0"`` (or ROCm/XPU) for the installed torch; None without torch.

    Read from ``torch/version.py`` without importing torch, so the set-up can say it at once.
    """
    spec = importlib.util.find_spec("torch")
    if spec is None or not spec.submodule_search_locations:
        return None
    version_file = Path(list(spec.submodule_search_locations)[0]) / "version.py"
    try:
        text = version_file.read_text(encoding="utf-8")
    except OSError:
        return None
    for field_name, label in (("cuda", "CUDA"), ("hip", "ROCm"), ("xpu", "XPU")):
        found = re.search(rf"^{field_name}\b[^=]*=\s*'([^']+)'", text, re.MULTILINE)
        if found:
            return f"{label} {found.group(1)}"
    return "CPU"


# distributions that come with torch's GPU builds (PyPI's Linux wheel depends on them)
_GPU_LIBRARIES = ("nvidia-", "cuda-", "triton")


def torch_disk_bytes() -> tuple[int, int]:
    """Bytes on disk of torch plus its GPU libraries, and how many such libraries there are."""
    total, libraries = 0, 0
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name != "torch" and not name.startswith(_GPU_LIBRARIES):
            continue
        libraries += name != "torch"
        total += sum(f.size or 0 for f in dist.files or ())
    return total, libraries


def torch_install_line() -> str:
    """One line for the set-up: which torch build is installed and what it costs on disk."""
    build = torch_build()
    if build is None:
        return "torch is not installed"
    version = importlib.metadata.version("torch")
    size, libraries = torch_disk_bytes()
    with_libraries = f" with {libraries} GPU libraries" if libraries else ""
    line = f"torch {version}: the {build} build, {size / 1e9:.1f} GB on disk{with_libraries}"
    if build != "CPU":
        line += "; the course needs only the CPU build (see the README's Start section)"
    return line


def import_memory() -> str | None:
    """This process's memory, as the kernel's status says (Linux only), rounded to 0.1 GB.

    Address space (VmPeak) is what a memory limit on address space counts: the CUDA build
    reserves about 3 GB of it at ``import torch``, the CPU build well under 1 GB.
    """
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    fields = dict(re.findall(r"^(VmPeak|VmHWM):\s+(\d+) kB", status, re.MULTILINE))
    if len(fields) < 2:
        return None
    peak, resident = (int(fields[k]) * 1024 / 1e9 for k in ("VmPeak", "VmHWM"))
    return f"{peak:.1f} GB of address space, {resident:.1f} GB resident"


def _version(module_name: str) -> str | None:
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    return getattr(module, "__version__", "installed")


def check_environment() -> EnvironmentReport:
    """Look at what this machine has and say whether the course will run on it."""
    report = EnvironmentReport()
    py_ok = sys.version_info >= (3, 10)
    report.checks.append(Check("Python", py_ok, platform.python_version() + ("" if py_ok else " (need 3.10 or newer)")))
    torch_version = _version("torch")
    if torch_version is None:
        report.checks.append(Check("PyTorch", False, "not installed"))
    else:
        note = "" if torch_version.split("+")[0] == TESTED_TORCH else f" (course tested with {TESTED_TORCH})"
        report.checks.append(Check("PyTorch", True, torch_version + note))
        import torch

        build = torch_build() or "unknown"
        report.checks.append(Check(
            "torch build", True,
            "CPU, all the course needs" if build == "CPU" else
            f"{build}: works, but the CPU build is all the course needs, and far smaller "
            "(see the README's Start section)", required=False))
        memory = import_memory()
        if memory is not None:
            report.checks.append(Check("Memory", True, f"this kernel so far: {memory}",
                                       required=False))

        if torch.cuda.is_available():
            device = f"GPU available ({torch.cuda.get_device_name(0)}); the course uses the CPU"
        else:
            device = "CPU only, which is all the course needs"
        report.checks.append(Check("Device", True, device, required=False))
    for name in ("ipywidgets", "matplotlib", "torchviz"):
        version = _version(name)
        report.checks.append(Check(name, version is not None, version or "not installed"))
    dot = shutil.which("dot")
    report.checks.append(Check(
        "Graphviz (dot)", dot is not None,
        dot or "missing: drawings use the built-in fallback; install it with "
               "'apt-get install graphviz' or 'conda install graphviz' for nicer layouts",
        required=False))
    return report


if __name__ == "__main__":
    print(torch_install_line())
