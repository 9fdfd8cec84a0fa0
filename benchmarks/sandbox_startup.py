"""What the grading sandbox adds to starting a kernel: ``python -m benchmarks.sandbox_startup``.

Starts the grading kernel (``course_utils.grade.kernel_side.kernel``, which imports torch before it
answers) ``repeat`` times in each of three ways, interleaved in a shuffled order so a busy
machine slows all three alike, and keeps the medians of

- *ready*: ``start_kernel`` until the kernel answers ``kernel_info``;
- *first figure*: then one matplotlib figure drawn and saved (the font cache matters here);

(and the fastest ready, the least disturbed by a busy machine) for a plain kernel
(jupyter_client's KernelManager over TCP, how kernels started before the
sandbox), the sandboxed kernel (``SandboxKernelManager`` + bubblewrap) and the launcher with
``--no-sandbox``. Reports, never asserts.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from course_utils.grade.launcher import sandbox
from course_utils.grade.pytest_side.sandbox_manager import SandboxKernelManager

FIGURE = ("import io, matplotlib\nmatplotlib.use('agg')\nimport matplotlib.pyplot as plt\n"
          "fig = plt.figure()\nplt.plot([1, 2, 3])\nplt.title('x')\n"
          "fig.savefig(io.BytesIO(), format='png')\n")


def _specs(root: Path, kernel_module: str) -> dict[str, tuple[type, str]]:
    plain = {"argv": [sys.executable, "-m", kernel_module, "-f", "{connection_file}"],
             "language": "python", "display_name": "plain"}
    specs = {"plain": (KernelManager, plain),
             "sandbox": (SandboxKernelManager, sandbox.kernelspec(
                 2048, root / "markers", kernel_module=kernel_module)),
             "no-sandbox": (SandboxKernelManager, sandbox.kernelspec(
                 2048, root / "markers", sandbox=False, kernel_module=kernel_module))}
    for name, (_, spec) in specs.items():
        (root / "kernels" / name).mkdir(parents=True)
        (root / "kernels" / name / "kernel.json").write_text(json.dumps(spec))
    return {name: manager for name, (manager, _) in specs.items()}


def _once(manager_class, name: str, root: Path) -> tuple[float, float]:
    scratch = Path(tempfile.mkdtemp(dir=root))
    began = time.perf_counter()
    manager = manager_class(kernel_name=name, kernel_spec_manager=KernelSpecManager(
        kernel_dirs=[str(root / "kernels")]))
    with open(os.devnull, "w") as devnull:
        manager.start_kernel(cwd=str(scratch), stdout=devnull, stderr=devnull)
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=120)
        ready = time.perf_counter() - began
        began = time.perf_counter()
        reply = client.execute_interactive(FIGURE, timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        return ready, time.perf_counter() - began
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def measure(repeat: int = 5, kernel_module: str = sandbox.KERNEL_MODULE) -> dict:
    modes = ["plain", "sandbox", "no-sandbox"]
    if sandbox.problem() is not None:
        modes.remove("sandbox")
    times: dict[str, list[tuple[float, float]]] = {mode: [] for mode in modes}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        managers = _specs(root, kernel_module)
        order = random.Random(0)
        for _ in range(repeat):
            for mode in order.sample(modes, len(modes)):  # no mode always follows another
                times[mode].append(_once(managers[mode], mode, root))
    result = {"repeat": repeat, "kernel module": kernel_module,
              "sandbox": sandbox.problem() or "bubblewrap"}
    for mode, runs in times.items():
        result[f"{mode} ready (s)"] = round(statistics.median(r for r, _ in runs), 3)
        result[f"{mode} fastest ready (s)"] = round(min(r for r, _ in runs), 3)
        result[f"{mode} first figure (s)"] = round(statistics.median(f for _, f in runs), 3)
    for mode in modes[1:]:
        result[f"{mode} adds to ready (s)"] = round(
            result[f"{mode} ready (s)"] - result["plain ready (s)"], 3)
    return result


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5), indent=1))
