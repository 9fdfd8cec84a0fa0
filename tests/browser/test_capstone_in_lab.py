"""Lesson 08 in JupyterLab: the training cell shows tqdm's live bar, then the plots appear.

Only the lesson's cells up to the loss and accuracy plot run (a copy, cut after that cell), so
the test takes seconds rather than the whole lesson's minute.
"""

from pathlib import Path

import nbformat
import pytest
from lab_page import run_all, wait_visible

pytestmark = pytest.mark.browser

LESSON = Path(__file__).resolve().parents[2] / "notebooks" / "08_capstone.ipynb"


def lesson_until_first_plot_of_training(folder: Path) -> Path:
    nb = nbformat.read(LESSON, as_version=4)
    last = next(i for i, cell in enumerate(nb.cells) if cell.source.startswith("plot_history("))
    nb.cells = nb.cells[: last + 1]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    path = folder / "08_capstone_training.ipynb"
    nbformat.write(nb, path)
    return path


@pytest.mark.skipif(not LESSON.exists(), reason="notebooks/08_capstone.ipynb not written yet")
def test_training_cell_shows_a_progress_bar_and_the_plots_appear(page, open_copy, screenshot, tmp_path):
    open_copy(lesson_until_first_plot_of_training(tmp_path))
    run_all(page, timeout_s=120)
    cells = page.locator(".jp-Notebook .jp-CodeCell")
    training = cells.filter(has_text="history = fit(model, splits, epochs=EPOCHS)").first
    bar = training.locator(".jp-OutputArea-output .widget-hprogress")
    wait_visible(bar, "tqdm's progress bar in the training cell")
    assert "epoch 20/20" in training.locator(".jp-OutputArea").inner_text()
    assert bar.locator(".progress-bar-success").count() == 1, "the bar did not finish in green"
    plots = cells.filter(has_text="plot_history(history").first.locator(".jp-OutputArea-output img")
    wait_visible(plots.first, "the loss and accuracy plot")
    assert plots.first.get_attribute("src").startswith("data:image/png")
    screenshot(page)
    assert page.blocked_requests == [], f"requests outside 127.0.0.1: {page.blocked_requests}"
