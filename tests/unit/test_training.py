"""course_utils.training and training_plots: the split, the loop's output, determinism, budget."""

import matplotlib
import pytest
import torch
from torch import nn

from course_utils import training
from course_utils.training_plots import (confusion_matrix, misclassified, plot_confusion,
                                         plot_history, plot_misclassified)

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
    with pytest.raises(ValueError, match='progress must be "bar", "text" or None'):
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
