"""course_utils.training and training_plots: the split, the loop's output, determinism, budget."""

import matplotlib
import pytest
import torch
from torch import nn

from course_utils import training
from course_utils.training_plots import (accuracy_floor, confusion_matrix, misclassified,
                                         plot_confusion, plot_history, plot_misclassified)

matplotlib.use("Agg")


def small_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))


@pytest.fixture(scope="module")
def splits():
    return training.load_digit_splits()


def test_fit_prints_one_line_per_epoch_and_nothing_on_stderr(splits, capsys):
    history = training.fit(small_model(), splits, epochs=3, progress="bar")  # no kernel: no bar
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert err == ""
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert f"validation loss {history.validation_loss[-1]:.4f}" in lines[-1]
    assert history.epochs == 3 and history.validation_loss[-1] < history.validation_loss[0]


def test_same_seed_same_history_other_seed_other_batches(splits):
    first = training.fit(small_model(), splits, epochs=2, progress=None)
    again = training.fit(small_model(), splits, epochs=2, progress=None)
    other = training.fit(small_model(), splits, epochs=2, progress=None, seed=1)
    assert first.train_loss == again.train_loss and first.validation_accuracy == again.validation_accuracy
    assert other.train_loss != first.train_loss


def test_fit_uses_the_given_step_and_records_notes_of_after_epoch(splits, capsys):
    calls = []

    def counting_step(model, optimizer, images, labels):
        calls.append(len(labels))
        return training.train_step(model, optimizer, images, labels)

    history = training.fit(small_model(), splits, epochs=2, batch_size=100, step=counting_step,
                           after_epoch=lambda model, optimizer, h: "grew" if h.epochs == 2 else None,
                           progress="text")
    assert sum(calls) == 2 * len(splits.train_labels) and max(calls) == 100
    assert history.events == [(2, "grew")]
    assert capsys.readouterr().out.splitlines()[-1].endswith("  grew")


def test_line_progress_is_one_line_per_run_a_dot_per_epoch_and_changes_no_number(splits, capsys):
    grew = lambda model, optimizer, h: "grew" if h.epochs == 2 else None  # noqa: E731
    history = training.fit(small_model(), splits, epochs=3, progress="line", label="small",
                           after_epoch=grew)
    out, err = capsys.readouterr()
    assert err == ""
    assert out == f"small           .+.  {history.summary()}\n"
    silent = training.fit(small_model(), splits, epochs=3, progress=None, after_epoch=grew)
    assert capsys.readouterr().out == ""
    assert (silent.train_loss, silent.validation_loss, silent.validation_accuracy, silent.events) == (
        history.train_loss, history.validation_loss, history.validation_accuracy, history.events)


def test_line_progress_ends_its_line_when_the_budget_stops_or_training_raises(splits, capsys):
    history = training.fit(small_model(), splits, epochs=5, progress="line", time_budget=0.0)
    assert capsys.readouterr().out == f".  {history.summary()}  (time budget)\n"

    def failing_step(model, optimizer, images, labels):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        training.fit(small_model(), splits, epochs=2, progress="line", label="broken", step=failing_step)
    assert capsys.readouterr().out == "broken            no epoch trained\n"


def test_line_progress_in_a_kernel_is_one_output_updated_in_place(splits, capsys, monkeypatch):
    shown = []

    class Handle:
        def update(self, bundle, raw):
            assert raw is True and list(bundle) == ["text/plain"]
            shown.append(bundle["text/plain"])

    def display_handle(text):
        shown.append(text)
        return Handle()

    monkeypatch.setattr(training, "_display_handle", display_handle)
    history = training.fit(small_model(), splits, epochs=2, progress="line", label="small")
    assert capsys.readouterr() == ("", "")
    assert shown == ["small           ", "small           .", "small           ..",
                     f"small           ..  {history.summary()}"]


def test_a_label_heads_the_epoch_lines_of_text_progress(splits, capsys):
    training.fit(small_model(), splits, epochs=2, progress="text", label="small")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "small:" and lines[1].startswith("epoch 1/2  train loss ") and len(lines) == 3


def test_time_budget_stops_after_the_epoch_that_exceeds_it(splits):
    history = training.fit(small_model(), splits, epochs=5, progress=None, time_budget=0.0)
    assert history.stopped_early and history.epochs == 1 and history.cpu_seconds > 0


def test_evaluate_restores_the_mode_and_needs_no_gradient(splits):
    model = small_model()
    model.train()
    loss, accuracy = training.evaluate(model, splits.test_images, splits.test_labels)
    assert model.training and 0 <= accuracy <= 1 and loss > 0
    assert training.predictions(model, splits.test_images).shape == (300,)


def test_fit_rejects_an_unknown_progress_mode(splits):
    with pytest.raises(ValueError, match='progress must be "bar", "text", "line" or None'):
        training.fit(small_model(), splits, epochs=1, progress="tqdm")


def test_confusion_matrix_and_mistakes_agree(splits):
    model = small_model()
    training.fit(model, splits, epochs=2, progress=None)
    matrix = confusion_matrix(model, splits.test_images, splits.test_labels)
    mistakes = misclassified(model, splits.test_images, splits.test_labels)
    assert matrix.sum() == 300 and matrix.sum(dim=1).tolist() == torch.bincount(splits.test_labels).tolist()
    assert matrix.sum() - matrix.trace() == len(mistakes)
    assert all(true != predicted for _, true, predicted in mistakes)
    index, true, predicted = mistakes[0]
    assert splits.test_labels[index] == true


def test_plots_draw_what_they_are_given(splits):
    history = training.fit(small_model(), splits, epochs=2, progress=None)
    history.events.append((1, "grew"))
    loss_ax, accuracy_ax = plot_history({"a": history, "b": history})
    assert len(accuracy_ax.get_lines()) == 2 + 2  # one curve per run and one growth line per run
    assert len(plot_confusion(torch.eye(10, dtype=torch.long) * 3).texts) == 10
    figure = plot_misclassified(splits.test_images, [(0, 1, 2), (5, 3, 4)], columns=4)
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == ["1 → 2", "3 → 4"]
    import matplotlib.pyplot as plt

    plt.close("all")


def history_of(accuracies, events=()):
    history = training.History()
    for n, accuracy in enumerate(accuracies):
        history.train_loss.append(1.0 / (n + 1))
        history.validation_loss.append(1.2 / (n + 1))
        history.validation_accuracy.append(accuracy)
    history.events = list(events)
    return history


def test_comparison_plot_has_one_legend_for_both_panels_and_explains_the_growth_lines():
    import matplotlib.pyplot as plt

    runs = {"plain stack": history_of([0.1, 0.087, 0.1]),
            "residual stack": history_of([0.9, 0.96, 0.977]),
            "growing": history_of([0.8, 0.95, 0.98], events=[(2, "stalled -> block 1 added")])}
    loss_ax, accuracy_ax = plot_history(runs, title="compared")
    figure = loss_ax.figure
    assert loss_ax.get_legend() is None and accuracy_ax.get_legend() is None
    (legend,) = figure.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "plain stack", "residual stack", "growing", " ", "training loss", "validation loss",
        "growing: a block added (growth)"]
    assert [line.get_linestyle() for line in legend.get_lines()][-3:] == ["-", "--", ":"]
    assert legend.get_lines()[-1].get_color() == "C2"  # the growth line in the run's colour
    assert "solid" in loss_ax.get_title() and "dashed" in loss_ax.get_title()
    _, given = plt.subplots(1, 2)  # axes of the caller's own figure: still one legend for both
    plot_history(runs, axes=given)
    assert len(given[0].figure.legends) == 1 and given[1].get_legend() is None
    plt.close("all")


def test_accuracy_axis_shows_the_differences_and_names_a_run_below_it():
    import matplotlib.pyplot as plt

    runs = {"plain stack": history_of([0.1, 0.087, 0.1]),
            "residual stack": history_of([0.9, 0.96, 0.977]),
            "with branch": history_of([0.82, 0.97, 0.98])}
    assert accuracy_floor(runs) == 85.0  # 97.7 - 8 = 89.7, down to a multiple of 5
    _, accuracy_ax = plot_history(runs)
    assert accuracy_ax.get_ylim() == (85.0, 100.0)
    assert accuracy_ax.get_title() == "validation accuracy (axis from 85 %)"
    assert [t.get_text() for t in accuracy_ax.texts] == [
        "▼ plain stack: 8.7-10.0 %, below this axis"]
    plt.close("all")
    assert accuracy_floor({"a": history_of([0.5, 0.999])}) == 90.0  # never above 90
    assert accuracy_floor({"a": history_of([0.1, 0.1])}) == 0.0  # nothing learned: the whole axis
    _, accuracy_ax = plot_history(history_of([0.1, 0.2]))
    assert accuracy_ax.get_ylim() == (0.0, 100.0) and len(accuracy_ax.texts) == 0
    assert accuracy_ax.get_title() == "validation accuracy"
    (legend,) = accuracy_ax.figure.legends
    assert [t.get_text() for t in legend.get_texts()] == ["training loss", "validation loss"]
    plt.close("all")
