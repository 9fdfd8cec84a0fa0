"""Grow a network while it trains: detect a stalled loss, add a layer, tell the optimizer.

Lesson 07 trains a tiny model on data generated in the notebook. The model itself (and how it
grows) is written in the lesson, where the student can read it; this module keeps the loop
around it short and testable:

- ``StallDetector`` says when the loss has stopped improving;
- ``new_parameters`` / ``register_new_parameters`` find the parameters an optimizer does not
  know yet and hand them to it (``optimizer.add_param_group``): forgetting this is the classic
  bug of a growing network, the new layer then never learns;
- ``train_with_growth`` runs the loop and returns a ``GrowthHistory`` (losses, growth steps);
- ``plot_growth`` draws the loss curve with a dashed line at each growth.

Progress is either a tqdm bar (``progress="bar"``; its output differs run to run, so the
lesson tags that cell ``nbval-ignore-output``) or a few deterministic lines on stdout
(``progress="text"``). Nothing is written to stderr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn


class StallDetector:
    """Says "stalled" when the last ``patience`` losses did not beat the earlier best enough.

    Stalled means: the best loss of the last ``patience`` steps is not at least
    ``min_improvement`` (a fraction, 0.01 = 1 %) lower than the best loss seen before them.
    Comparing bests rather than single losses keeps a noisy curve from triggering growth.
    """

    def __init__(self, patience: int = 50, min_improvement: float = 0.01):
        if patience < 1:
            raise ValueError("patience must be at least 1 step")
        self.patience = patience
        self.min_improvement = min_improvement
        self.reset()

    def reset(self) -> None:
        """Forget the history (called after a growth: the new model gets a fresh chance)."""
        self.losses: list[float] = []

    def update(self, loss: float) -> bool:
        """Record one loss; True when training has stalled."""
        self.losses.append(float(loss))
        if len(self.losses) <= self.patience:
            return False
        best_before = min(self.losses[: -self.patience])
        best_recent = min(self.losses[-self.patience:])
        return best_recent > best_before * (1 - self.min_improvement)


def _known_ids(optimizer: torch.optim.Optimizer) -> set[int]:
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


def new_parameters(optimizer: torch.optim.Optimizer, model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The (name, parameter) pairs of ``model`` that ``optimizer`` does not update."""
    known = _known_ids(optimizer)
    return [(name, p) for name, p in model.named_parameters() if id(p) not in known]


def register_new_parameters(optimizer: torch.optim.Optimizer, model: nn.Module, **group_options) -> list[str]:
    """Give ``optimizer`` every parameter of ``model`` it does not know yet; return their names.

    The new parameters become one parameter group (``group_options`` such as ``lr`` override
    the optimizer's defaults). The old parameters keep their optimizer state (for Adam, the
    running averages), which rebuilding the optimizer would throw away.
    """
    missing = new_parameters(optimizer, model)
    if missing:
        optimizer.add_param_group({"params": [p for _, p in missing], **group_options})
    return [name for name, _ in missing]


@dataclass
class GrowthHistory:
    """What happened during ``train_with_growth``: one loss per step and each growth."""

    losses: list[float] = field(default_factory=list)
    growth_steps: list[int] = field(default_factory=list)      # step at which the model grew
    parameter_counts: list[int] = field(default_factory=list)  # after start and each growth
    registered: list[list[str]] = field(default_factory=list)  # names handed to the optimizer

    def summary(self) -> str:
        """Deterministic text: start and end loss, and each growth with its parameter count."""
        lines = [f"steps: {len(self.losses)}, loss {self.losses[0]:.4f} -> {self.losses[-1]:.4f}",
                 f"start: {self.parameter_counts[0]} parameters"]
        for n, step in enumerate(self.growth_steps, start=1):
            lines.append(f"growth {n} at step {step}: loss {self.losses[step - 1]:.4f}, "
                         f"now {self.parameter_counts[n]} parameters")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def train_with_growth(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    grow: Callable[[nn.Module], object],
    *,
    steps: int = 600,
    loss_fn: Callable | None = None,
    detector: StallDetector | None = None,
    max_growths: int = 3,
    tell_optimizer: bool = True,
    progress: str | None = "text",
    report_every: int = 100,
    new_group_options: dict | None = None,
) -> GrowthHistory:
    """Full-batch training of ``model``; when the loss stalls, call ``grow(model)``.

    After each growth, if ``tell_optimizer`` is true, the new parameters are registered with
    ``optimizer`` (set it to False to watch the bug: the new layer never changes), as one
    parameter group with ``new_group_options`` (e.g. ``{"lr": 0.001}``: Adam's first steps move
    every fresh parameter by about ``lr``, whatever its gradient, which can bump the loss).
    ``progress``: "text" prints a line every ``report_every`` steps and at each growth,
    "bar" shows a tqdm bar, None is silent.
    """
    if progress not in ("text", "bar", None):
        raise ValueError('progress must be "text", "bar" or None')
    loss_fn = loss_fn or nn.MSELoss()
    detector = detector or StallDetector()
    history = GrowthHistory(parameter_counts=[_count(model)])
    bar = None
    if progress == "bar":
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="training", unit="step")
    try:
        for step in range(1, steps + 1):
            optimizer.zero_grad()
            loss = loss_fn(model(inputs), targets)
            loss.backward()
            optimizer.step()
            value = loss.item()
            history.losses.append(value)
            stalled = detector.update(value)
            if stalled and len(history.growth_steps) < max_growths:
                grow(model)
                names = (register_new_parameters(optimizer, model, **(new_group_options or {}))
                         if tell_optimizer else [])
                history.growth_steps.append(step)
                history.parameter_counts.append(_count(model))
                history.registered.append(names)
                detector.reset()
                if progress == "text":
                    print(f"step {step:4d}  loss {value:.4f}  stalled -> grew to "
                          f"{history.parameter_counts[-1]} parameters")
            if progress == "text" and (step % report_every == 0 or step == steps):
                print(f"step {step:4d}  loss {value:.4f}")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4f}", growths=len(history.growth_steps), refresh=False)
    finally:
        if bar is not None:
            bar.close()
    return history


def plot_growth(history: GrowthHistory, ax=None, title: str = "Loss while the network grows"):
    """Loss per step (log scale) with a dashed vertical line and a label at each growth."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    steps = range(1, len(history.losses) + 1)
    ax.plot(steps, history.losses, color="tab:blue", label="training loss")
    for n, step in enumerate(history.growth_steps, start=1):
        ax.axvline(step, color="tab:red", linestyle="--", linewidth=1,
                   label="growth" if n == 1 else None)
        ax.annotate(f"growth {n}", xy=(step, 1), xycoords=("data", "axes fraction"),
                    xytext=(-11, -4), textcoords="offset points", rotation=90, va="top",
                    color="tab:red", fontsize=9)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (MSE)")
    ax.set_title(title)
    ax.legend(loc="lower left")
    return ax
