"""`python -m course_utils.notebooks refresh` leaves a notebook that `check` accepts."""

import nbformat
import pytest

from course_utils.notebooks import main, normalise, problems, refresh


def _write(path, sources, **metadata):
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(metadata)
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


def test_normalise_drops_machine_specific_metadata():
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"state": {}}
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01"}
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "Checkbox()", "application/vnd.jupyter.widget-view+json": {"model_id": "abc"}})]
    nb.cells.append(cell)
    normalise(nb)
    assert "widgets" not in nb.metadata
    assert nb.metadata["language_info"] == {"name": "python"}
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert "execution" not in cell.metadata
    assert cell.outputs[0]["data"] == {"text/plain": "Checkbox()"}


@pytest.mark.slow
def test_refresh_executes_in_order_and_check_accepts_the_result(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = folder / "demo.ipynb"
    _write(path, ["x = 6 * 7", "print(x)", "x + 1"], kernelspec={"name": "python3", "display_name": "P"})
    assert problems(path)  # never executed: counts are None
    refresh(path)
    nb = nbformat.read(path, as_version=4)
    assert [c.execution_count for c in nb.cells] == [1, 2, 3]
    assert nb.cells[1].outputs[0]["text"] == "42\n"
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "43"
    assert problems(path) == []
    assert main(["check", str(path)]) == 0
    assert "1 notebooks clean" in capsys.readouterr().out


def test_check_command_fails_on_an_exercise_notebook_with_outputs(tmp_path, capsys):
    folder = tmp_path / "exercises"
    folder.mkdir()
    path = folder / "01_demo.ipynb"
    _write(path, ["print(1)"], kernelspec={"name": "python3", "display_name": "P"})
    assert main(["check", str(path)]) == 0
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[0].execution_count = 1
    nbformat.write(nb, path)
    assert main(["check", str(path)]) == 1
    assert "has outputs; exercises are stored clean" in capsys.readouterr().out


@pytest.mark.slow
def test_refresh_of_a_failing_notebook_names_the_cell_and_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = folder / "broken.ipynb"
    _write(path, ["x = 1", "y = x / 0", "print(y)"], kernelspec={"name": "python3", "display_name": "P"})
    before = path.read_bytes()
    good = folder / "good.ipynb"
    _write(good, ["print(42)"], kernelspec={"name": "python3", "display_name": "P"})
    assert main(["refresh", str(path), str(good)]) == 1
    out = capsys.readouterr().out
    cell_id = nbformat.read(path, as_version=4).cells[1].id
    assert f"{path}: code cell 2 (id {cell_id}) failed: ZeroDivisionError: division by zero; nothing was written" in out
    assert path.read_bytes() == before
    assert nbformat.read(good, as_version=4).cells[0].outputs[0]["text"] == "42\n"  # the run went on


def test_refresh_of_an_unreadable_notebook_names_the_file(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    path = folder / "garbled.ipynb"
    path.write_text("{ not json")
    assert main(["refresh", str(path)]) == 1
    assert f"{path}: could not run (" in capsys.readouterr().out
    assert path.read_text() == "{ not json"
