"""The engine inside a real Jupyter kernel: what a student's notebook stores."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

CELLS = [
    "from course_utils.exercises import lesson00 as ex\nimport torch",
    "def make_images(batch_size):\n    size = 32\n    return torch.zeros(batch_size, 3, size, '32')",
    "ex.q0.check(make_images)",
    "outcome = ex.q0.check(lambda b: torch.zeros(b, 3, 32, 32))\noutcome.status",
    "ex.q2.hint(2)",
    "import os\nos.environ['COURSE_GRADING'] = '1'\nex.q2.check(NotImplemented)",
]


@pytest.mark.slow
def test_outcomes_in_a_kernel(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.delenv("COURSE_GRADING", raising=False)
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    error_cell, correct_cell, hint_cell, graded_cell = (c.outputs for c in nb.cells[2:])

    assert [o.output_type for o in error_cell] == ["display_data"]
    text = error_cell[0].data["text/plain"]
    assert text.splitlines()[1].startswith("TypeError: zeros()")
    assert text.splitlines()[-2:] == ["At your cell, line 3, in make_images:",
                                      "    return torch.zeros(batch_size, 3, size, '32')"]
    assert "ipykernel" not in text and "course_utils" not in error_cell[0].data["text/html"]

    assert [o.output_type for o in correct_cell] == ["display_data", "execute_result"]
    assert correct_cell[0].data["text/plain"].startswith("✓ Correct — lesson00.q0")
    assert correct_cell[1].data["text/plain"] == "'correct'"

    assert [o.output_type for o in hint_cell] == ["display_data"]   # shown once, not echoed again
    assert hint_cell[0].data["text/plain"].startswith("? Hint 2 of 2 — lesson00.q2")

    assert graded_cell == []   # under grading the check is silent: the grader asks for a verdict


FORGOT_SUPER_CELLS = [
    "from course_utils.exercises import lesson03\nimport torch\nfrom torch import nn",
    "class Lambda(nn.Module):\n    def __init__(self, fn, *args, **kwargs):\n        self.fn = fn\n\n"
    "    def forward(self, x):\n        return self.fn(x)",
    "lesson03.q3.check(Lambda)",
]


@pytest.mark.slow
def test_a_forgotten_super_init_names_the_students_cell_and_line(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.delenv("COURSE_GRADING", raising=False)
    nb = new_notebook(cells=[new_code_cell(c) for c in FORGOT_SUPER_CELLS])
    NotebookClient(nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = nb.cells[2].outputs[0].data["text/plain"]
    assert text.startswith("✗ Incorrect — lesson03.q3")
    assert ("must call `super().__init__()` before anything else (At your cell, line 2: "
            "`def __init__(self, fn, *args, **kwargs):`)") in text
