"""How long a widget takes from a toggle to a finished redraw, without a browser.

Setting a widget's value runs its callback synchronously, so the time between setting the
value and the return is the kernel-side redraw: forward (and backward) pass, drawing the
graph or plot, and writing the output area. The browser adds only rendering on top.
The course's bar is 150 ms for the lesson-sized models measured here.

    python -m benchmarks.widgets        # prints one line per widget
"""

import os
import statistics
import sys
import time
from pathlib import Path

BUDGET_MS = 150


def _cpu_s():
    """CPU seconds of this process and its finished children (Graphviz's ``dot`` runs as one)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _median_ms(toggle, repeats):
    """Median wall-clock ms of ``toggle()``; CPU ms too, since a busy machine inflates wall time."""
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), _cpu_s()
        toggle()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((_cpu_s() - start_cpu) * 1000)
    return {"wall_ms": statistics.median(wall), "cpu_ms": statistics.median(cpu)}


def widget_redraw_ms(repeats=7):
    """``{widget: {"wall_ms", "cpu_ms"}}``: medians from setting a value to a finished redraw.

    One warm-up first (imports, first Graphviz call). Torch runs on one thread, as in the
    lessons (``seed_everything``).
    """
    import torch

    from course_utils import widgets

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from widget_models import ConditionalNet, build_stack

    torch.manual_seed(0)
    torch.set_num_threads(1)
    results = {}

    toggles = widgets.layer_toggles(
        ConditionalNet(10, 20, 5), torch.randn(1, 10),
        switches={"adaptive layer": "adaptive_layer.add_condition", "head": "arg:condition"},
        initial={"adaptive layer": True},
    )
    head = toggles.checkboxes["head"]

    def flip_head():
        head.value = not head.value
        assert toggles.last_error is None, toggles.last_error

    flip_head()  # warm-up: imports, first Graphviz call
    results[f"layer_toggles (graph: {toggles.graph_note})"] = _median_ms(flip_head, repeats)

    flow = widgets.gradient_flow(build_stack, torch.randn(32, 16), depths=(4, 8, 16), depth=16)

    def flip_skip():
        flow.skip_checkbox.value = not flow.skip_checkbox.value
        assert flow.last_error is None, flow.last_error

    flip_skip()
    results["gradient_flow (depth 16, both curves)"] = _median_ms(flip_skip, repeats)

    def reveal():
        question = widgets.predict("2 + 2?", ["3", "4"], "4", "Arithmetic.")
        question.choice.value = "4"
        question.reveal_button.click()

    reveal()
    results["predict (build, choose, reveal)"] = _median_ms(reveal, repeats)
    return results


def measure_redraw(repeat=5):
    """For ``benchmarks.run``: ``{"redraw_ms": {widget: wall ms}, "cpu_ms": {widget: CPU ms}}``."""
    results = widget_redraw_ms(repeats=repeat)
    return {
        "redraw_ms": {name: round(r["wall_ms"], 1) for name, r in results.items()},
        "cpu_ms": {name: round(r["cpu_ms"], 1) for name, r in results.items()},
    }


def main():
    for name, ms in widget_redraw_ms().items():
        flag = "ok" if ms["wall_ms"] <= BUDGET_MS else f"over the {BUDGET_MS} ms budget"
        print(f"{name:40s} {ms['wall_ms']:7.1f} ms wall {ms['cpu_ms']:7.1f} ms CPU  {flag}")


if __name__ == "__main__":
    main()
