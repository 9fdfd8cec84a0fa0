"""Lesson 08's pictures of training: curves per epoch, a confusion matrix, misclassified digits.

Each function draws on a matplotlib Axes (or makes a figure) and returns it; the notebook ends
the cell with ``plt.show()``, so no ``<Figure ...>`` text is stored (PNG is not compared by
nbval). The numbers behind every picture are computed by plain functions that a cell can print.
"""

from __future__ import annotations

import torch

from course_utils.training import History, predictions


def accuracy_floor(histories: dict[str, History], learned: float = 0.5) -> float:
    """Lower end (in %) of the accuracy axis: where the runs that learned can be told apart.

    The runs whose last validation accuracy is at least ``learned`` decide it: the lowest of
    their last accuracies, less 8 points, rounded down to a multiple of 5 (97.3 % gives 85 %).
    A run that ends below it is named on the axis instead of squeezing the others (lesson
    08's plain stack, at 10 %, made four networks at 97-99 % one thick line). 0 when no run
    learned.
    """
    finals = [100 * h.validation_accuracy[-1] for h in histories.values()
              if h.epochs and h.validation_accuracy[-1] >= learned]
    if not finals:
        return 0.0
    return float(max(0, min(90, 5 * ((min(finals) - 8) // 5))))


def plot_history(histories: dict[str, History] | History, axes=None, title: str = "",
                 event: str = "a block added (growth)", floor: float | None = None):
    """Loss (left) and validation accuracy (right) per epoch, one colour per run.

    Training loss is solid, validation loss dashed; each event of a run (``History.events``,
    in lesson 08 a growth) is a dotted vertical line in that run's colour, called ``event`` in
    the legend. One legend, at the right of both panels, names the runs (colours) and the line
    styles. The accuracy axis starts at ``floor`` % (by default ``accuracy_floor``: where the
    runs that learned differ); a run that stays below it is named at the bottom of the panel.
    Returns the two Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    if isinstance(histories, History):
        histories = {"": histories}
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained")
    loss_ax, accuracy_ax = axes
    floor = accuracy_floor(histories) if floor is None else floor
    run_handles, event_handles, below = [], [], []
    for n, (label, history) in enumerate(histories.items()):
        colour = f"C{n}"
        epochs = range(1, history.epochs + 1)
        accuracy = [100 * a for a in history.validation_accuracy]
        loss_ax.plot(epochs, history.train_loss, color=colour)
        loss_ax.plot(epochs, history.validation_loss, color=colour, linestyle="--")
        accuracy_ax.plot(epochs, accuracy, color=colour, marker="o", markersize=3)
        run_handles.append(Line2D([], [], color=colour, marker="o", markersize=3, label=label))
        if accuracy and max(accuracy) < floor:
            below.append((label, colour, min(accuracy), max(accuracy)))
        for epoch, _ in history.events:
            for ax in axes:
                ax.axvline(epoch, color=colour, linestyle=":", linewidth=1.2)
        if history.events:
            event_handles.append(Line2D([], [], color=colour, linestyle=":", linewidth=1.2,
                                        label=f"{label}: {event}" if label else event))

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", yscale="log",
                title="loss: training (solid) and validation (dashed)")
    accuracy_ax.set(xlabel="epoch", ylabel="validation accuracy (%)", ylim=(floor, 100),
                    title="validation accuracy" + (f" (axis from {floor:g} %)" if floor else ""))
    accuracy_ax.grid(axis="y", alpha=0.3)
    for row, (label, colour, low, high) in enumerate(below):
        span = f"{low:.1f} %" if round(low, 1) == round(high, 1) else f"{low:.1f}-{high:.1f} %"
        accuracy_ax.annotate(f"▼ {label}: {span}, below this axis", xy=(0.98, 0.04 + 0.09 * row),
                             xycoords="axes fraction", ha="right", color=colour, fontsize=8,
                             bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8})

    styles = [Line2D([], [], color="grey", label="training loss"),
              Line2D([], [], color="grey", linestyle="--", label="validation loss")]
    named = [h for h in run_handles if h.get_label()]
    handles = named + ([Line2D([], [], linestyle="none", label=" ")] if named else []) + \
        styles + event_handles
    figure = loss_ax.figure
    legend = {"handles": handles, "fontsize": 8, "title_fontsize": 8,
              "title": "runs and lines" if named else None}
    if isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine):  # the legend gets a column
        figure.legend(loc="outside right center", **legend)
    else:  # axes handed in from a figure of another layout
        figure.tight_layout()
        figure.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), **legend)
    if title:
        figure.suptitle(title)
    return axes


def confusion_matrix(model, images: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """``matrix[true, predicted]`` = how many images of class ``true`` were predicted ``predicted``."""
    predicted = predictions(model, images)
    return torch.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def plot_confusion(matrix: torch.Tensor, ax=None, title: str = "confusion matrix (test set)"):
    """The matrix as a heat map with its counts written in; the diagonal is what is right."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(4.6, 4.2))
    classes = matrix.shape[0]
    ax.imshow(matrix.numpy(), cmap="Blues")
    high = matrix.max().item() / 2
    for true in range(classes):
        for predicted in range(classes):
            count = matrix[true, predicted].item()
            if count:
                ax.text(predicted, true, str(count), ha="center", va="center", fontsize=8,
                        color="white" if count > high else "black")
    ax.set(xticks=range(classes), yticks=range(classes), xlabel="predicted", ylabel="true", title=title)
    return ax


def misclassified(model, images: torch.Tensor, labels: torch.Tensor) -> list[tuple[int, int, int]]:
    """(index, true label, predicted label) of every image the model gets wrong, in index order."""
    predicted = predictions(model, images)
    wrong = (predicted != labels).nonzero().flatten().tolist()
    return [(i, labels[i].item(), predicted[i].item()) for i in wrong]


def plot_misclassified(images: torch.Tensor, mistakes: list[tuple[int, int, int]], columns: int = 8):
    """A grid of the misclassified digits, each titled "true → predicted"; returns the figure."""
    import matplotlib.pyplot as plt

    count = max(len(mistakes), 1)
    rows = -(-count // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (index, true, predicted) in zip(axes.flat, mistakes):
        ax.imshow(images[index, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"{true} → {predicted}", fontsize=10, color="tab:red")
    if not mistakes:
        axes.flat[0].text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle("misclassified test digits: true → predicted", fontsize=10)
    fig.tight_layout()
    return fig
