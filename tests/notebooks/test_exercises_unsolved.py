"""Every released exercise notebook runs top to bottom unsolved, each check saying 'not attempted'.

A stub that raises, or code after a stub that uses its name, would break the student's very
first "Run all"; this runs each notebook the way a student first does, in a fresh kernel.
"""

import pytest

from course_utils.notebooks import ROOT, execute

EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", EXERCISES, ids=[p.stem for p in EXERCISES])
def test_unsolved_notebook_runs_and_every_check_is_not_attempted(path, monkeypatch):
    monkeypatch.delenv("COURSE_GRADING", raising=False)   # the kernel inherits this environment
    nb = execute(path)                                    # raises CellExecutionError on any error
    checks = [c for c in nb.cells if c.cell_type == "code" and "exercise" in c.metadata.get("course", {})]
    assert checks, f"{path.name} has no check cells"
    for cell in checks:
        texts = [o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs]
        exercise = cell.metadata["course"]["exercise"]
        assert len(texts) == 1, f"{exercise}: expected one output, got {len(texts)}: {texts}"
        assert "not attempted" in texts[0].lower(), f"{exercise}: {texts[0]}"
        assert "not attempted" in cell.outputs[0]["data"]["text/html"].lower()
    stderr = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("name") == "stderr"]
    assert not stderr, f"{path.name} wrote to stderr: {stderr}"
