"""How fast the picture tools are: import cost and drawing time per seed model.

Called by the benchmark runner (``measure_import()``, ``measure_drawing()``), or alone:
``python -m benchmarks.pictures``. Reports, never asserts. Targets: ``import course_utils``
adds at most 0.3 s over ``import torch``; drawing a lesson model well under 150 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time_in_fresh_python(code: str) -> float:
    timed = f"import time; t = time.perf_counter(); {code}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", timed], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    return float(done.stdout.strip().splitlines()[-1])


def measure_import(repeats: int = 5) -> dict:
    """Seconds that ``import course_utils`` (and ``course_utils.pictures``) add over torch.

    Each figure is the median over ``repeats`` fresh interpreters; torch is imported first,
    outside the timed part, because every lesson imports it anyway.
    """
    torch_alone = [_time_in_fresh_python("import torch") for _ in range(repeats)]
    package = [_time_in_fresh_python("import torch, course_utils") for _ in range(repeats)]
    pictures = [_time_in_fresh_python("import torch, course_utils, course_utils.pictures")
                for _ in range(repeats)]
    base = statistics.median(torch_alone)
    return {
        "import torch (s)": round(base, 3),
        "import course_utils adds (s)": round(statistics.median(package) - base, 3),
        "import course_utils.pictures adds (s)": round(statistics.median(pictures) - base, 3),
    }


def measure_drawing(repeats: int = 5) -> dict:
    """Median milliseconds per seed model for draw_graph (with SVG), draw_autograd (with SVG)
    and trace_shapes, on whichever renderer this machine has."""
    sys.path.insert(0, str(ROOT / "tests"))
    from seed_models import SEED_MODELS

    from course_utils.pictures import draw_autograd, draw_graph, trace_shapes
    from course_utils.pictures.picture import dot_program

    tools = {
        "draw_graph": lambda m, a, k: draw_graph(m, *a, **k).svg,
        "draw_autograd": lambda m, a, k: draw_autograd(m, *a, **k).svg,
        "trace_shapes": lambda m, a, k: str(trace_shapes(m, *a, **k)),
    }
    results = {"renderer": "dot" if dot_program() else "fallback"}
    for name, factory in sorted(SEED_MODELS.items()):
        model, inputs, kwargs = factory()
        for tool, run in tools.items():
            run(model, inputs, kwargs)  # warm-up
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                run(model, inputs, kwargs)
                times.append((time.perf_counter() - start) * 1000)
            results[f"{name} {tool} (ms)"] = round(statistics.median(times), 1)
    numbers = [v for k, v in results.items() if k.endswith("(ms)")]
    results["slowest (ms)"] = max(numbers)
    return results


if __name__ == "__main__":
    for key, value in {**measure_import(), **measure_drawing()}.items():
        print(f"{key:55s} {value}")
