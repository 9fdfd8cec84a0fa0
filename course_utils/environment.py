"""Environment check and seeding, used by ``00_start_here`` and the first cell of every lesson.

Why seeding lives here: stored notebook outputs are compared by ``pytest --nbval``, so every
random tensor a lesson prints must be the same on every run and every machine of this kind.
"""

from __future__ import annotations

import html
import platform
import random
import shutil
import sys
from dataclasses import dataclass, field

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
