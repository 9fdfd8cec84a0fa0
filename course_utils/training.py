"""Lesson 08's training on real data: the digits split, one training step, the epoch loop.

Why a module: the capstone, its exercise checks and the benchmark must train on exactly the
same split with exactly the same recipe, or their numbers could not be compared. The model
itself is always written in the notebook, where the student reads it.

- ``load_digit_splits`` reads the 1,797 handwritten digits that scikit-learn ships (8×8
  images, no download) and splits them with a fixed seed into train / validation / test;
- ``train_step`` is one optimisation step, returning the batch's loss (exercise 2 asks the
  student to write it);
- ``fit`` trains for some epochs and returns a ``History``. It prints one line per epoch and,
  in a live Jupyter kernel, also shows tqdm's notebook bar. The bar is displayed with a fixed
  ``text/plain`` of its own, so the stored output of the cell is the same on every run; the bar
  itself is a widget view, which nbval does not compare. A cell that trains several networks
  uses ``progress="line"``: one line per network that grows by a dot per epoch as it ends, the
  summary at the end (in a kernel, one output updated in place). Nothing is written to stderr.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

SPLIT_SEED = 0
BAR_TEXT = "progress bar (a live widget in JupyterLab)"


@dataclass
class DigitSplits:
    """Images of shape (N, 1, 8, 8) scaled to [0, 1] and labels 0-9, for each part of the split."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    validation_images: torch.Tensor
    validation_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor

    def __repr__(self) -> str:
        parts = [(name, getattr(self, f"{name}_images")) for name in ("train", "validation", "test")]
        return "DigitSplits(" + ", ".join(f"{name}: {len(images)}" for name, images in parts) + \
            f"; images {tuple(self.train_images.shape[1:])}, 10 classes)"


@functools.lru_cache(maxsize=4)
def _digits(seed: int, validation: int, test: int) -> tuple[torch.Tensor, ...]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    train, val = order[: len(order) - validation - test], order[len(order) - validation - test: len(order) - test]
    rest = order[len(order) - test:]
    return images[train], labels[train], images[val], labels[val], images[rest], labels[rest]


def load_digit_splits(seed: int = SPLIT_SEED, validation: int = 300, test: int = 300) -> DigitSplits:
    """The digits, shuffled with ``seed`` and split; the same split on every call and machine.

    Returns copies, so changing a tensor in a notebook cannot change what a check trains on.
    """
    return DigitSplits(*(t.clone() for t in _digits(seed, validation, test)))


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, images: torch.Tensor,
               labels: torch.Tensor) -> float:
    """One step: clear old gradients, compute the loss, backpropagate, update; return the loss."""
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """(mean cross-entropy loss, accuracy in [0, 1]) in eval mode and without gradients."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(images)
            loss = F.cross_entropy(logits, labels).item()
            accuracy = (logits.argmax(dim=1) == labels).float().mean().item()
    finally:
        model.train(was_training)
    return loss, accuracy


def predictions(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The predicted class of each image (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return model(images).argmax(dim=1)
    finally:
        model.train(was_training)


@dataclass
class History:
    """Per-epoch figures of one ``fit``; ``events`` are (epoch, note), e.g. a growth.

    ``train_loss`` is the mean of the mini-batch losses the steps returned during the epoch
    (free: no extra pass over the training set; the weights moved while it was measured).
    The validation figures are measured after the epoch, in evaluation mode.
    """

    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    events: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0          # wall time; never printed by ``summary`` (it varies)
    cpu_seconds: float = 0.0      # processor time of this process, what ``time_budget`` limits
    stopped_early: bool = False   # the time budget ran out before the last epoch

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def summary(self) -> str:
        """Deterministic text: epochs and the last epoch's figures."""
        if not self.epochs:
            return "no epoch trained"
        return (f"{self.epochs} epochs: train loss {self.train_loss[-1]:.4f}, "
                f"validation loss {self.validation_loss[-1]:.4f}, "
                f"validation accuracy {100 * self.validation_accuracy[-1]:.1f} %")

    def __repr__(self) -> str:
        return f"History({self.summary()})"


def epoch_line(history: History, epochs: int, note: str = "") -> str:
    """One line per epoch: what the stored output of a training cell shows."""
    e = history.epochs
    line = (f"epoch {e:{len(str(epochs))}d}/{epochs}  train loss {history.train_loss[-1]:.4f}  "
            f"validation loss {history.validation_loss[-1]:.4f}  "
            f"accuracy {100 * history.validation_accuracy[-1]:5.1f} %")
    return line + (f"  {note}" if note else "")


def fit(model: nn.Module, splits: DigitSplits, *, epochs: int = 15, lr: float = 0.005,
        batch_size: int = 64, seed: int = 0, step: Callable = train_step,
        after_epoch: Callable[[nn.Module, torch.optim.Optimizer, History], str | None] | None = None,
        progress: str | None = "bar", time_budget: float | None = None,
        label: str = "") -> History:
    """Train ``model`` on ``splits`` with shuffled mini-batches; return its ``History``.

    The recipe: Adam with learning rate ``lr``, decayed along a cosine to zero over all the
    steps of all ``epochs`` (large steps first, fine ones at the end; without the decay the
    last epochs jump around the minimum and the final accuracy depends on luck).

    ``step(model, optimizer, images, labels)`` makes one update and returns the batch's loss as a
    float (``train_step`` by default). The batches come from a generator seeded with ``seed`` (the global random state is not
    used), so two models trained with the same seed see the same batches in the same order.
    ``after_epoch(model, optimizer, history)`` runs after each epoch's evaluation; a string
    it returns is recorded in ``history.events`` and printed at the end of that epoch's line
    (lesson 08 grows the network there). ``progress``: "bar" prints a line per epoch and, in a
    live kernel, shows tqdm's notebook bar; "text" only prints; "line" prints one line for the
    whole run, a dot per epoch (``+`` for an epoch with an event) as soon as it ends and then
    ``history.summary()``, for a cell that trains several networks; None is silent. ``label``
    names the run: the start of its line ("line"), a line of its own before the epochs ("bar",
    "text"). Progress only prints (to stdout); it changes nothing in the training.
    ``time_budget`` (seconds of processor time of this process) stops after the epoch that
    exceeds it: processor time, not wall time, so that other programs running on a busy machine
    do not count against the network being trained.
    """
    if progress not in ("bar", "text", "line", None):
        raise ValueError('progress must be "bar", "text", "line" or None')
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps_per_epoch = -(-len(splits.train_labels) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    history = History()
    line = _RunLine(label) if progress == "line" else None
    if progress in ("bar", "text") and label:
        print(f"{label}:")
    bar = _notebook_bar(epochs) if progress == "bar" else None
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(len(splits.train_labels), generator=generator)
            total = 0.0
            for batch in order.split(batch_size):
                loss = step(model, optimizer, splits.train_images[batch], splits.train_labels[batch])
                total += len(batch) * loss
                schedule.step()
            history.train_loss.append(total / len(order))
            loss, accuracy = evaluate(model, splits.validation_images, splits.validation_labels)
            history.validation_loss.append(loss)
            history.validation_accuracy.append(accuracy)
            note = after_epoch(model, optimizer, history) if after_epoch is not None else None
            if note:
                history.events.append((epoch, note))
            if line is not None:
                line.add("+" if note else ".")
            elif progress is not None:
                print(epoch_line(history, epochs, note or ""))
            if bar is not None:
                bar.set_postfix(loss=f"{history.validation_loss[-1]:.4f}", refresh=False)
                bar.update(1)
            history.seconds = time.perf_counter() - start
            history.cpu_seconds = time.process_time() - cpu_start
            if time_budget is not None and history.cpu_seconds > time_budget and epoch < epochs:
                history.stopped_early = True
                break
    finally:
        if bar is not None:
            bar.close()
        if line is not None:  # ends the line even when the training raised
            line.end(f"  {history.summary()}" + ("  (time budget)" if history.stopped_early else ""))
    return history


class _RunLine:
    """``progress="line"``: one line for a whole run, "label  ....+...  summary".

    In a live kernel the line is one output that grows in place (a display with an id, updated
    after each epoch), so the stored notebook holds the finished line once, not one output per
    dot; elsewhere the marks are printed to stdout as they come. Never stderr.
    """

    def __init__(self, label: str):
        self.text = f"{label:<15} " if label else ""
        self.handle = _display_handle(self.text)
        if self.handle is None:
            print(self.text, end="", flush=True)

    def add(self, mark: str):
        self.text += mark
        if self.handle is not None:
            self.handle.update({"text/plain": self.text}, raw=True)
        else:
            print(mark, end="", flush=True)

    def end(self, summary: str):
        self.add(summary)
        if self.handle is None:
            print()


def _display_handle(text: str):
    """A display of ``text`` that can be updated in place, in a live Jupyter kernel; else None."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    return display({"text/plain": text}, raw=True, display_id=True)


def _notebook_bar(total: int):
    """tqdm's widget bar when a Jupyter kernel with ipywidgets runs this, else None.

    Displayed by hand with a fixed ``text/plain``: tqdm's own text shows elapsed time and
    speed, which would make the stored output differ from run to run.
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        return None
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return None
    try:
        from tqdm.notebook import tqdm as notebook_tqdm

        bar = notebook_tqdm(total=total, desc="training", unit="epoch", display=False)
    except ImportError:  # no ipywidgets: the printed lines are enough
        return None
    bundle = bar.container._repr_mimebundle_()
    bundle["text/plain"] = BAR_TEXT
    display(bundle, raw=True)
    bar.displayed = True
    return bar
