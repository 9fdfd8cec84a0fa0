"""``GrowingModel``: a model that grows while it trains, with the optimizer told about its new parameters.

The check builds on the answer's side the model (``model(answer)``: a course model the student's function
receives, or the student's own class), an Adam optimizer over it and a ``Trainer`` that takes training steps
on a hidden batch. Before each of ``growths`` growths it takes one step (so the optimizer has learned
something to keep) and notes what ``notes`` names; then the answer grows the model (``grower``), and
``mistakes`` are judged in order on a ``Growth``: what was added (layers, parameters), whether the output
stayed as it was, whether the optimizer holds the new parameters and still remembers the old ones, whether
the new ones take part in forward and move in training. Each fact is fetched on first use and kept, so a
mistake costs only the round trips it reads, and the training steps behind ``moved`` are taken only when a
mistake asks, after every earlier mistake was judged on the model as it grew.

Why a kind: growing goes wrong quietly (nothing raises when the optimizer is never told, when a plain list
hides the new layer, when Adam's running averages are thrown away, when a new block changes what the network
had learned), so every growth exercise asks the same questions of the same few facts; a lesson declares
which, in which order and in which words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise
from course_utils.exercises.kinds.parts import Case, Mistake, Seen, first_fitting
from course_utils.probes.client import Answer, ProbeFault


# --- on the answer's side: the optimizer and what trains the model ----------------------------------

def adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """The optimizer the growing model comes with (built next to it)."""
    return torch.optim.Adam(model.parameters(), lr=lr)


class Trainer:
    """Built next to the answer's model and optimizer: takes training steps (mean squared error on a batch
    the check chose) and reports what the optimizer holds, as plain data. It decides nothing: the check
    reads its replies as the answer's behaviour."""

    def __init__(self, model, optimizer, x, target):
        self.model, self.optimizer, self.x, self.target = model, optimizer, x, target
        self.known, self.names = set(), set()

    def step(self, remember: bool = False) -> None:
        """One step; ``remember``: then note which parameters the model has (before it grows)."""
        self.optimizer.zero_grad()
        nn.functional.mse_loss(self.model(self.x), self.target).backward()
        self.optimizer.step()
        if remember:
            self.known = {id(p) for p in self.model.parameters()}
            self.names = {name for name, _ in self.model.named_parameters()}

    def new_parameters(self) -> list:
        """Names of the model's parameter objects that were not there when it last remembered."""
        return [name for name, p in self.model.named_parameters() if id(p) not in self.known]

    def forgotten(self) -> list:
        """Names the model had when it last remembered whose parameter the optimizer has no state for
        (Adam's averages lost: the optimizer rebuilt, or the old layer replaced by a copy)."""
        return [name for name, p in self.model.named_parameters()
                if name in self.names and not self.optimizer.state.get(p)]

    def learning_rates(self, name: str) -> list:
        """The lr of every parameter group that holds the model's parameter ``name``."""
        parameter = dict(self.model.named_parameters(remove_duplicate=False)).get(name)
        return [float(group["lr"]) for group in self.optimizer.param_groups
                if any(p is parameter for p in group["params"])]


# --- one growth as the check saw it ---------------------------------------------------------------

@dataclass
class Growth(Seen):
    """One growth: ``model``, ``optimizer`` and ``trainer`` (handles on the answer's side), ``growth`` (1 for
    the first) and ``before`` (what ``notes`` read before it grew). Every other field is read on first use,
    from the model as it is then; a message template may quote any of them (``{added}``, ``{grown}``)."""

    model: Answer | None = None
    optimizer: Answer | None = None
    trainer: Answer | None = None
    growth: int = 1
    before: dict = field(default_factory=dict)

    def now(self, note: str):
        """What ``note`` reads on the model as it is: ``layers`` (the children of the exercise's
        ``container``), ``count`` (registered parameters), ``output`` (its plain output on the batch)."""
        if note == "layers":
            return checks.children_of(self.model.tree(), self.exercise.container)
        if note == "count":
            return checks.parameter_count(self.model)
        if note == "output":
            return checks.plain(checks.call_model(self.model, *self.args))
        raise ValueError(f"{self.exercise.id}: no note called {note!r}")

    @cached_property
    def layers(self) -> list:
        """The children of ``container`` after growing (tree entries)."""
        return self.now("layers")

    @property
    def grown(self) -> int:
        """How many children ``container`` gained."""
        return len(self.layers) - len(self.before["layers"])

    @property
    def new_layer(self):
        return self.layers[-1]

    @cached_property
    def hidden(self) -> list:
        """Attributes that hide modules from PyTorch (plain lists, dicts), as ``checks.unregistered_modules``."""
        return checks.unregistered_modules(self.model)

    @cached_property
    def added(self) -> int:
        """How many registered parameters growing added (0: none, or one block replaced another)."""
        return self.now("count") - self.before["count"]

    @cached_property
    def new(self) -> list:
        """Names of the parameters that were not there before growing."""
        return _names(self.trainer.method("new_parameters"))

    @cached_property
    def after(self) -> torch.Tensor:
        """The output on the batch after growing (a tensor of the same shape as before, or ``Incorrect``)."""
        before = checks.expect_tensor(self.before["output"], "your model's output")
        return checks.expect_shape(self.now("output"), tuple(before.shape), "the output after growing")

    @cached_property
    def change(self) -> float | None:
        """The largest difference growing made to the output (None: exactly the same)."""
        after, before = self.after, self.before["output"]
        return None if checks.exactly_equal(after, before) else (after - before).abs().max().item()

    @cached_property
    def parameters(self) -> dict:
        """The model's parameters after growing, by name (``Parameter``: value, requires_grad)."""
        return {p.name: p for p in self.model.parameters()}

    @property
    def frozen(self) -> list:
        """New parameters with ``requires_grad=False``."""
        return [name for name, p in self.parameters.items() if name in self.new and not p.requires_grad]

    @cached_property
    def grads(self) -> dict:
        """The gradients one backward pass gives the model's parameters (None: it gets none)."""
        output = checks.expect_tensor(self.after if "output" in self.before else self.now("output"),
                                      "your model's output")
        gradient = checks.hidden_input(*output.shape, seed=5)
        return checks.run_model(self.model, *self.args, backward=gradient).grads

    @property
    def untouched(self) -> bool:
        """The new parameters get no gradient at all (``.grad`` None): forward never uses them."""
        return bool(self.new) and all(self.grads.get(name) is None for name in self.new)

    @cached_property
    def missing(self) -> list:
        """Names of the model's parameters no group of the optimizer holds."""
        return checks.optimizer_missing(self.optimizer, self.model)

    @cached_property
    def forgotten(self) -> list:
        """Names the model's parameters had before growing that the optimizer has no state for now."""
        return _names(self.trainer.method("forgotten"))

    @cached_property
    def moved(self) -> list:
        """The new parameters whose values changed in the exercise's ``steps`` training steps."""
        values = {name: p.value for name, p in self.parameters.items()}
        new = self.new
        for _ in range(self.exercise.steps):
            self.trainer.method("step")
        trained = {p.name: p.value for p in self.model.parameters()}
        return [name for name in new if name in values and not checks.exactly_equal(trained.get(name), values[name])]

    @property
    def moved_weights(self) -> list:
        """Those of ``moved`` that are weights (two or more dimensions), not biases."""
        return [name for name in self.moved if self.parameters[name].value.dim() >= 2]

    def lr_of(self, name: str):
        """The learning rate of the parameter group holding ``name`` ("?" when the reply is not one)."""
        lrs = self.trainer.method("learning_rates", name)
        return lrs[0] if type(lrs) is list and lrs and type(lrs[0]) in (int, float) else "?"


# --- the kind ---------------------------------------------------------------------------------------

class GrowingModel(Exercise):
    """The model grows ``growths`` times, a training step before each; after each growth the first of
    ``mistakes`` that fits its ``Growth`` is said."""

    what: str = "`grow`"                    # how messages name the call that grows the model
    group: str = "the new block's parameters"   # what the optimizer's new group must hold, in messages
    batch: tuple = ()                       # shape of the hidden batch and of its target (seed 99)
    lr: float = 0.01                        # the optimizer's (Adam's) learning rate
    growths: int = 1                        # how many times the model grows
    notes: Sequence[str] = ()               # read before each growth: "layers", "count", "output"
    container: str = ""                     # the module whose children "layers" counts
    steps: int = 1                          # training steps after which ``moved`` is read
    mistakes: Sequence[Mistake] = ()        # judged in order after each growth

    def model(self, answer: Answer) -> Answer:
        """The model that grows, built on the answer's side."""
        raise TypeError(f"{type(self).__name__} must define model(answer)")

    def grower(self, answer: Answer, model: Answer) -> tuple[Answer, tuple]:
        """What grows the model and its arguments before the optimizer: by default the answer, a function
        ``grow(model, optimizer)``; a method of the student's model overrides this (``(grow, ())``)."""
        return answer, (model,)

    def check_answer(self, answer):
        model = self.model(answer)
        grow, arguments = self.grower(answer, model)
        x, target = checks.hidden_input(*self.batch), checks.hidden_input(*self.batch, seed=99)
        optimizer = model.session.build(adam, model, self.lr)
        trainer = model.session.build(Trainer, model, optimizer, x, target)
        for growth in range(1, self.growths + 1):
            trainer.method("step", True)
            seen = Growth(self, answer, Case((x,)), (x,), model=model, optimizer=optimizer, trainer=trainer,
                          growth=growth)
            seen.before = {note: seen.now(note) for note in self.notes}
            _grow(grow, (*arguments, optimizer), self.what, self.group)
            first_fitting(self.mistakes, seen, prefix="")


def _names(reply) -> list:
    """A reply that must be a list of names (of parameters); anything else is malformed."""
    if type(reply) is not list or not all(type(name) is str for name in reply):
        raise ProbeFault("the answer's side sent a malformed list of names")
    return reply


def _grow(function, arguments, what: str, group: str):
    """Call the student's growth; what PyTorch's optimizer refuses becomes the course's words (``group``
    says which parameters belong in the new group), with their line."""
    with checks.worded(None, what):
        try:
            return checks.call(function, *arguments, what=what)
        except ValueError as error:
            if "more than one parameter group" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, f"You gave the optimizer parameters it already had (PyTorch refuses a parameter in two "
                       f"groups): the new group holds {group} only.") from None
        except TypeError as error:
            text = str(error)
            if "param_group must be a dict" in text:
                given = text.rpartition("but got ")[2].strip("<>. ").replace("class ", "").strip("'")
                raise checks.mistake_in_your_code(
                    error, f"`optimizer.add_param_group` takes one parameter group, a dict, and you gave it a "
                           f"{given.rpartition('.')[2]}: write `optimizer.add_param_group({{'params': ...}})` with "
                           f"{group} as the value of 'params'.") from None
            if "object is not iterable" in text:
                raise checks.mistake_in_your_code(
                    error, f"The 'params' of a parameter group must be parameters ({group}), and PyTorch could not "
                           "iterate over what you gave it: a layer itself is not its parameters, "
                           "`layer.parameters()` is.") from None
            raise
