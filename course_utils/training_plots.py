"""Lesson 08's pictures of training: curves per epoch, a confusion matrix, misclassified digits.

Each function draws on a matplotlib Axes (or makes a figure) and returns it; the notebook ends
the cell with ``plt.show()``, so no ``<Figure ...>`` text is stored (PNG is not compared by
nbval). The numbers behind every picture are computed by plain functions that a cell can print.
"""

from __future__ import annotations

import torch

from course_utils.training import History, predictions


def plot_history(histories: dict[str, History] | History, axes=None, title: str = ""):
    """Loss (left) and validation accuracy (right) per epoch, one colour per history.

    Training loss is solid, validation loss dashed; each event (a growth) is a dotted vertical
    line in the colour of its run. The runs are named in the accuracy panel's legend.
    """
    import matplotlib.pyplot as plt

    if isinstance(histories, History):
        histories = {"": histories}
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    loss_ax, accuracy_ax = axes
    for n, (label, history) in enumerate(histories.items()):
        colour = f"C{n}"
        epochs = range(1, history.epochs + 1)
        loss_ax.plot(epochs, history.train_loss, color=colour)
        loss_ax.plot(epochs, history.validation_loss, color=colour, linestyle="--")
        accuracy_ax.plot(epochs, [100 * a for a in history.validation_accuracy], color=colour,
                         marker="o", markersize=3, label=label or "validation")
        for epoch, _ in history.events:
            for ax in axes:
                ax.axvline(epoch, color=colour, linestyle=":", linewidth=1)
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", yscale="log", title="loss")
    accuracy_ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation accuracy")
    styles = [Line2D([], [], color="grey"), Line2D([], [], color="grey", linestyle="--")]
    loss_ax.legend(styles, ["train", "validation"], fontsize=8)
    accuracy_ax.legend(fontsize=8, loc="center right")
    if title:
        loss_ax.figure.suptitle(title)
    loss_ax.figure.tight_layout()
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
