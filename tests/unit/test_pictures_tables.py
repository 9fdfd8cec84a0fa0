"""trace_shapes and show_modules: awkward models, HTML, determinism, and a light import."""

import subprocess
import sys
from pathlib import Path

import torch
from torch import nn

from course_utils.pictures import show_modules, trace_shapes


class TwoInTwoOut(nn.Module):
    """Several inputs (one by keyword), a dict output, a module called twice, one unused."""

    def __init__(self):
        super().__init__()
        self.shared = nn.Linear(4, 4)
        self.head = nn.Linear(8, 2)
        self.unused = nn.Linear(4, 4)
        self.frozen = nn.Linear(4, 4)
        self.frozen.requires_grad_(False)

    def forward(self, a, b, scale=1.0):
        x, y = self.shared(a), self.shared(b)
        joined = torch.cat([x, self.frozen(y)], dim=1)
        return {"logits": self.head(joined) * scale, "pair": (x, y)}


def test_every_call_is_a_row_with_shapes_in_execution_order():
    table = trace_shapes(TwoInTwoOut(), torch.zeros(3, 4), b=torch.zeros(3, 4), scale=2.0)
    names = [row[0] for row in table.rows]
    assert names == ["(model)", "shared", "shared (call 2)", "frozen", "cat", "head", "mul"]
    model_row = table.rows[0]
    assert model_row[2] == "(3, 4), (3, 4), 2.0"
    assert model_row[3] == "{logits: (3, 2), pair: ((3, 4), (3, 4))}"
    assert table.rows[2][4] == "shared"  # the second call shares the first call's parameters
    assert table.rows[3][5] == "frozen"
    assert table.rows[4][1] == "op dim=1" and table.rows[4][3] == "(3, 8)"
    text = str(table)
    assert "did not run this time: unused (Linear)" in text
    # shared 20 + head 18 + unused 20 + frozen 20; `unused` did not run, `frozen` is frozen
    assert ("total: 5 module calls, 2 operations; 78 parameters (58 trainable, 20 frozen), "
            "58 used this run") in text


def test_text_is_aligned_and_identical_between_runs():
    first = str(trace_shapes(TwoInTwoOut(), torch.zeros(3, 4), torch.zeros(3, 4)))
    second = repr(trace_shapes(TwoInTwoOut(), torch.zeros(3, 4), torch.zeros(3, 4)))
    assert first == second
    header, rule = first.splitlines()[1:3]
    assert len(header) <= len(rule) and set(rule) <= {"-", " "}
    assert header.index("type") == rule.index(" -") + 1 or "type" in header


def test_html_escapes_and_marks_the_failing_call():
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(15, 30))
    table = trace_shapes(model, torch.zeros(1, 10))
    page = table._repr_html_()
    assert "<table>" in page and "color:#b00020" in page  # the failing row is red
    assert "the forward pass failed in 2: RuntimeError: mat1 and mat2 shapes cannot be multiplied" \
        in str(table)
    assert "Linear(10 → 20)" in show_modules(model)._repr_html_()


def test_module_tree_shows_a_module_registered_twice():
    inner = nn.Linear(2, 2)
    model = nn.Sequential()
    model.add_module("first", inner)
    model.add_module("again", inner)
    text = str(show_modules(model))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "└─ again Linear(2 → 2) shared same module as first" in lines
    assert text.endswith("total: 6 parameters (6 trainable, 0 frozen) in 2 modules")


def test_importing_pictures_does_not_import_heavy_drawing_libraries():
    code = ("import sys, course_utils, course_utils.pictures;"
            "print(sorted(m for m in ('torchviz', 'torchview', 'graphviz', 'IPython') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[2])
    assert done.stdout.strip() == "[]" and done.stderr == ""
