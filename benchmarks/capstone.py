"""Lesson 08 on this machine: the notebook's run time, its network's test accuracy, and the
accuracy-checked exercise (lesson08.q3) on its reference answer: accuracy, parameters, time.

The notebook runs top to bottom in a fresh kernel, as `make refresh` and nbval run it; its test
accuracy is read from the line the lesson prints, so the figure is the one a student sees.
Beside the wall time, the kernel's own processor time is reported (a cell appended to a copy
asks the kernel): on a machine shared with other work the wall time grows, the processor time
does not, and with one thread it is what a quiet machine's wall time would be, minus start-up.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import time
from pathlib import Path

import nbformat

from course_utils.notebooks import ROOT, execute

NOTEBOOK = ROOT / "notebooks" / "08_capstone.ipynb"
TEST_LINE = re.compile(r"test accuracy ([\d.]+) %")
# The lesson's own claim, checked in the notebook: at least 97 % of the 300 test digits. Over
# seeds 0-4 and five numeric code paths (MKL, ATen, oneDNN) the network got 293 to 298 right
# (97.7-99.3 %); on seed 0, 294 or 295. 98 % (294) would be decided by one image.
GOAL_ACCURACY = 97
CPU_PROBE = ("import resource; usage = resource.getrusage(resource.RUSAGE_SELF); "
             "print('kernel processor seconds', usage.ru_utime + usage.ru_stime)")


def _printed(nb) -> str:
    return "".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for output in cell.outputs if output.get("output_type") == "stream")


def measure_notebook(repeat: int = 3) -> dict:
    """Median wall time of the lesson top to bottom (kernel start included) and its test accuracy."""
    times, cpus, accuracies = [], [], set()
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            nb = nbformat.read(NOTEBOOK, as_version=4)
            nb.cells.append(nbformat.v4.new_code_cell(CPU_PROBE))
            copy = Path(folder) / NOTEBOOK.name
            nbformat.write(nb, copy)
            start = time.perf_counter()
            nb = execute(copy)
            times.append(time.perf_counter() - start)
        cpus.append(float(nb.cells[-1].outputs[0]["text"].split()[-1]))
        found = TEST_LINE.search(_printed(nb))
        if found is None:
            raise RuntimeError(f"{NOTEBOOK.name} printed no 'test accuracy ... %' line")
        accuracies.add(float(found.group(1)))
    if len(accuracies) != 1:
        raise RuntimeError(f"{NOTEBOOK.name} is not deterministic: test accuracies {sorted(accuracies)}")
    return {"seconds": round(statistics.median(times), 1), "runs": [round(t, 1) for t in times],
            "kernel_cpu_seconds": round(statistics.median(cpus), 1),
            "test_accuracy_percent": accuracies.pop(), "goal_seconds": 60,
            "goal_accuracy_percent": GOAL_ACCURACY}


def measure_exercise(repeat: int = 3) -> dict:
    """lesson08.q3 on its reference: the check's own training (wall and processor time)."""
    import torch

    from course_utils.exercises import lesson08

    torch.set_num_threads(1)
    walls, cpus, message = [], [], ""
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        outcome = lesson08.q3.evaluate(lesson08.q3.reference_answer())
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        if not outcome.correct:
            raise RuntimeError(f"lesson08.q3 rejects its reference: {outcome.message}")
        message = outcome.message
    accuracy = float(re.search(r"test accuracy ([\d.]+) %", message).group(1))
    parameters = int(re.search(r"with ([\d,]+) parameters", message).group(1).replace(",", ""))
    return {"seconds": round(statistics.median(walls), 1), "cpu_seconds": round(statistics.median(cpus), 1),
            "test_accuracy_percent": accuracy, "parameters": parameters, "goal_seconds": 20,
            "goal_accuracy_percent": 95, "goal_parameters": 20_000}


def measure(repeat: int = 3) -> dict:
    return {"notebook": measure_notebook(repeat), "exercise": measure_exercise(repeat)}


def rows(r: dict, verdict) -> list[tuple[str, str, str, str]]:
    """The README rows: (what, measured, goal, verdict)."""
    nb, q3 = r["notebook"], r["exercise"]
    return [
        ("08_capstone top to bottom (fresh kernel, 1 thread)",
         f"{nb['seconds']:.1f} s ({nb['kernel_cpu_seconds']:.1f} s kernel processor time)", "< 60 s",
         verdict(nb["seconds"] < 60)),
        ("08_capstone network, test accuracy", f"{nb['test_accuracy_percent']:.1f} %", f"≥ {GOAL_ACCURACY} %",
         verdict(nb["test_accuracy_percent"] >= GOAL_ACCURACY)),
        ("lesson08.q3 reference: accuracy, parameters, training time",
         f"{q3['test_accuracy_percent']:.1f} %, {q3['parameters']:,}, {q3['seconds']:.1f} s "
         f"({q3['cpu_seconds']:.1f} s processor)", "≥ 95 %, ≤ 20,000, < 20 s",
         verdict(q3["test_accuracy_percent"] >= 95 and q3["parameters"] <= 20_000 and q3["seconds"] < 20)),
    ]


if __name__ == "__main__":
    import json

    print(json.dumps(measure(repeat=1), indent=2))
