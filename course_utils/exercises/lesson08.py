"""Exercises of lesson 08 (capstone): assemble a network, the training step, a small accurate
network, and an open question answered by a measurement.

The parts the student assembles (``BranchBlock``, ``ResidualBlock``) are defined here, once: the
exercise notebook imports them and shows their source, and the reference of exercise 1 is built
from the same classes. Checks compare plain Python numbers and tensors the check itself created.

Every exercise is probed: a check holds an ``Answer`` handle and reaches the student's object only
through plain-data requests. The models and optimizers a student's function receives are built
on the answer's side (``session.build`` of the module-level factories below, never a solution),
read back through the handle, and judged against the check's own local copies.
"""

from __future__ import annotations

import copy
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from course_utils import training
from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.probes.client import Answer, ProbeFault

_allclose = torch.allclose  # our own reference: a notebook that replaces torch.allclose changes nothing


class BranchBlock(nn.Module):
    """Two views of the same feature maps joined on the channel dim: 3×3 (context) and 1×1 (per pixel)."""

    def __init__(self, in_channels, branch_channels):
        super().__init__()
        self.wide = nn.Conv2d(in_channels, branch_channels, kernel_size=3, padding=1)
        self.point = nn.Conv2d(in_channels, branch_channels, kernel_size=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(torch.cat([self.wide(x), self.point(x)], dim=1))


class ResidualBlock(nn.Module):
    """conv2(relu(conv1(x))) + shortcut(x); the shortcut is a 1×1 projection when channels change."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        if in_channels == out_channels:
            self.shortcut = nn.Identity()
        else:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x))) + self.shortcut(x)


def plain_number(value, what: str) -> float:
    """``value`` as an exact built-in float; a tensor, None or anything else is refused by name.

    A subclass of ``float`` or ``int`` is read through the built-in type itself, so its own
    ``__eq__`` or ``__float__`` cannot decide what the check sees.
    """
    if isinstance(value, torch.Tensor):
        raise Incorrect(f"{what} is a tensor; return a Python number: `.item()` turns a one-element "
                        "tensor into a float (and lets go of its autograd graph).")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        kind = "None (is a `return` missing?)" if value is None else f"a {checks.type_name(value)}"
        raise Incorrect(f"{what} should be a Python float; got {kind}.")
    return float.__float__(value) if isinstance(value, float) else float(int.__index__(value))


def expect_registered(model: nn.Module) -> None:
    """Layers kept in a plain list or dict are invisible to PyTorch: say so before counting."""
    hidden = checks.unregistered_modules(model)
    if hidden:
        names = ", ".join(f"`self.{name}`" for name in hidden)
        raise Incorrect(f"Layers stored in a plain Python list or dict ({names}) are not registered, so "
                        "PyTorch does not see their parameters: use `nn.ModuleList` / `nn.ModuleDict`, "
                        "or assign each layer to its own attribute.")


def _solution_namespace() -> dict:
    return {"torch": torch, "nn": nn, "F": F, "OrderedDict": OrderedDict,
            "BranchBlock": BranchBlock, "ResidualBlock": ResidualBlock}


# --- q1 ---------------------------------------------------------------------------------

class AssembleFromSpecification(Exercise):
    id = "lesson08.q1"
    points = 3
    title = "Assemble a network from a specification"
    why = ("Named parts composed in forward: the module tree, the state_dict keys and the graph all "
           "say what the network is.")
    hints = [
        "Six registered parts, created in __init__ and called in this order in forward: "
        "stem, branch, res1, pool, res2, head. Channels: 1 → 8 (stem) → 16 (branch: 8 + 8 "
        "joined by cat) → 24 (res1, projection) → 24 (res2); the pool halves 8×8 to 4×4.",
        "`self.stem = nn.Sequential(OrderedDict([(\"conv\", nn.Conv2d(1, 8, 3, padding=1)), "
        "(\"relu\", nn.ReLU())]))`, `self.branch = BranchBlock(8, 8)`, `self.res1 = "
        "ResidualBlock(16, 24)`, `self.pool = nn.MaxPool2d(2)`, `self.res2 = ResidualBlock(24, 24)`, "
        "and a head that flattens 24·4·4 = 384 features into `nn.Linear(384, 10)`.",
    ]
    order = ("stem", "branch", "res1", "pool", "res2", "head")

    def solution_object(self):
        namespace = _solution_namespace()
        exec(compile(self.solution_code, f"<solution of {self.id}>", "exec"), namespace)
        return namespace["CapstoneNet"]

    def check_answer(self, answer):
        model = checks.instantiate(answer)
        reference = self.solution_object()()
        expected = checks.parameter_count(reference)
        expect_registered(model)
        found = checks.parameter_count(model)
        if found != expected:
            raise Incorrect(f"CapstoneNet should have {expected:,} parameters; yours has {found:,}. "
                            f"Where yours are: {checks.parameter_breakdown(model)}. Compare each part's "
                            "channels with the specification.")
        self._expect_named_stem(model)
        x = checks.hidden_input(5, 1, 8, 8)
        run = model.run(x, ops=True)
        checks.expect_shape(run.value, (5, 10), "the output for 5 images")
        checks.expect_autograd_op(run, "CatBackward0", "No `torch.cat` in your forward: the branch "
                                  "joins its two views with cat; use `BranchBlock(8, 8)`.")
        if not checks.autograd_ops(run) & {"AddBackward0", "AddBackward1"}:
            raise Incorrect("No addition in your forward: res1 and res2 are residual blocks "
                            "(`ResidualBlock`), which add their shortcut.")
        never = [name for name, calls in self._calls(model, x).items() if calls == 0]
        if never:
            raise Incorrect(f"`{never[0]}` is registered but never runs in forward: call every part, "
                            f"in the order {', '.join(self.order)}.")

        def output():
            return checks.expect_shape(model.run(x, no_grad=True).value, (5, 10), "the output for 5 images")

        with torch.no_grad():
            if checks.copy_weights_until(reference, model, lambda: checks.same(output(), reference(x))):
                return
            got = output()
            for order, message in self._wrong_orders():
                if checks.same(got, self._run(reference, x, order)):
                    raise Incorrect(message)
            difference = float((got - reference(x)).abs().max())
        raise Incorrect("The parts and parameters are right, but the output differs: forward must apply "
                        f"{' → '.join(self.order)}, each exactly once, and return the head's output "
                        f"(largest difference {difference:.3g}).")

    @staticmethod
    def _expect_named_stem(model):
        entries = model.tree()
        stems = [e for e in entries if e.name.split(".")[-1] == "stem"]
        if not stems:
            raise Incorrect("No part named `stem`: register it as `self.stem = nn.Sequential(OrderedDict(...))`.")
        stem = stems[0]
        children, seen = [], set()
        for entry in entries:   # named_children: direct children, each module once
            parent, _, child = entry.name.rpartition(".")
            if parent == stem.name and entry.name.startswith(stem.name + ".") and entry.identity not in seen:
                seen.add(entry.identity)
                children.append(child)
        if not _is_sequential(model, stem) or children != ["conv", "relu"]:
            shown = ", ".join(children) or "none"
            raise Incorrect(f"The stem's layers are named ({shown}); build it from an OrderedDict with "
                            "the names conv and relu: `nn.Sequential(OrderedDict([(\"conv\", ...), "
                            "(\"relu\", nn.ReLU())]))`.")

    @staticmethod
    def _calls(model, x):
        counts = checks.calls_per_module(model, x)
        seen, layers = set(), []
        for entry in model.tree():   # named_modules(): each module once, those with own parameters
            if entry.identity not in seen:
                seen.add(entry.identity)
                if entry.parameters:
                    layers.append(entry.name)
        return {name: counts.get(name, 0) for name in layers}

    @staticmethod
    def _run(reference, x, order):
        for name in order:
            x = getattr(reference, name)(x)
        return x

    @staticmethod
    def _wrong_orders():
        late = ("the max-pool comes after res2; it belongs between res1 and res2, so that res2 works "
                "on 4×4 maps")
        early = ("the max-pool comes before res1; it belongs between res1 and res2, so that res1 "
                 "still sees the full 8×8 image")
        return [(("stem", "branch", "res1", "res2", "pool", "head"), f"Right parts, wrong order: {late}."),
                (("stem", "branch", "pool", "res1", "res2", "head"), f"Right parts, wrong order: {early}.")]


def _is_sequential(model: Answer, entry) -> bool:
    """The registered module of ``entry`` is an ``nn.Sequential`` (or a subclass of it)."""
    if entry.type == "Sequential":
        return True
    if not entry.name:
        return model.is_module("Sequential")
    try:
        part = model.attribute(entry.name)
    except AttributeError:
        return False
    return isinstance(part, Answer) and part.is_module("Sequential")


q1 = AssembleFromSpecification()


# --- q2 ---------------------------------------------------------------------------------

def _step_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def step_optimizer(model: nn.Module, lr: float, momentum: float) -> torch.optim.Optimizer:
    """The optimizer a student's ``train_step`` receives (built next to the model it updates)."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def _accumulating_step(model, optimizer, images, labels):
    F.cross_entropy(model(images), labels).backward()
    optimizer.step()


def _fresh_optimizer_step(model, optimizer, images, labels):
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    torch.optim.SGD(model.parameters(), lr=optimizer.param_groups[0]["lr"]).step()


class TrainingStep(Exercise):
    id = "lesson08.q2"
    points = 2
    title = "The training step"
    why = ("Every training loop repeats these four moves: clear the old gradients, compute the loss, "
           "backpropagate, update.")
    hints = [
        "Four lines in this order: clear the gradients of the last step, compute the loss of "
        "`model(images)` against `labels`, `backward()`, `optimizer.step()`; then return the loss as "
        "a Python number.",
        "`optimizer.zero_grad()`, `loss = F.cross_entropy(model(images), labels)`, `loss.backward()`, "
        "`optimizer.step()`, `return loss.item()`. F.cross_entropy takes the raw scores (logits): "
        "no softmax before it.",
    ]
    steps = 3
    lr, momentum = 0.1, 0.9

    def check_answer(self, answer):
        splits = training.load_digit_splits()
        batches = [(splits.train_images[i * 32:(i + 1) * 32], splits.train_labels[i * 32:(i + 1) * 32])
                   for i in range(self.steps)]
        start, model = answer.session.twin(_step_model)   # the same weights on both sides
        names = [name for name, _ in start.named_parameters()]
        initial = copy.deepcopy(start.state_dict())
        expected = self._trajectory(training.train_step, start, batches)
        optimizer = answer.session.build(step_optimizer, model, self.lr, self.momentum)
        for n, (images, labels) in enumerate(batches, start=1):
            before = _parameters(model, names)
            value = checks.call(answer, model, optimizer, images, labels,
                                what="`train_step(model, optimizer, images, labels)`")
            loss = plain_number(value, "The value train_step returns")
            after = _parameters(model, names)
            if _matches(after, before, exact=True):
                raise Incorrect("After a call of train_step the parameters did not change: the step must "
                                "end with `optimizer.step()`, after `loss.backward()` (and "
                                "`optimizer.zero_grad()` belongs before `backward()`, not between it and "
                                "`step()`).")
            wanted_loss, wanted_params = expected[n - 1]
            if abs(loss - wanted_loss) > 1e-5 * max(1.0, abs(wanted_loss)):
                self._explain_loss(loss, wanted_loss, initial, batches[0])
            if not _matches(after, wanted_params):
                self._explain_parameters(n, after, initial, batches)

    def _trajectory(self, step, model, batches):
        """[(loss, parameters)] after each step of ``step`` on a fresh copy of ``model``."""
        model = copy.deepcopy(model)
        optimizer = torch.optim.SGD(model.parameters(), lr=self.lr, momentum=self.momentum)
        out = []
        for images, labels in batches:
            loss = step(model, optimizer, images, labels)
            out.append((loss, [p.detach().clone() for p in model.parameters()]))
        return out

    @staticmethod
    def _explain_loss(loss, wanted, initial, batch):
        images, labels = batch
        model = _step_model()
        model.load_state_dict(initial)
        with torch.no_grad():
            softmaxed = F.cross_entropy(F.softmax(model(images), dim=1), labels).item()
        if abs(loss - softmaxed) < 1e-5:
            raise Incorrect("Your loss applies softmax before F.cross_entropy, which already contains "
                            "it (log-softmax inside): pass the raw scores `model(images)`.")
        raise Incorrect(f"The loss your step returns ({loss:.4f}) differs from "
                        f"`F.cross_entropy(model(images), labels)` before the update ({wanted:.4f}).")

    def _explain_parameters(self, n, after, initial, batches):
        for step, message in (
                (_accumulating_step, "From the second step on the gradients pile up: call "
                                     "`optimizer.zero_grad()` at the start of every step."),
                (_fresh_optimizer_step, "Use the optimizer you are given: a new optimizer in every step "
                                        "forgets its momentum (and never sees the learning rate chosen "
                                        "for it).")):
            model = _step_model()
            model.load_state_dict(initial)
            variant = self._trajectory(step, model, batches[:n])
            if _matches(variant[-1][1], after):
                raise Incorrect(message)
        raise Incorrect(f"After step {n} the parameters differ from one step of the optimizer you were "
                        "given: zero_grad, loss, backward, step, in that order, once per call.")


def _matches(a, b, exact: bool = False) -> bool:
    """Two lists of tensors of the same shapes and dtypes, value for value (to float tolerance)."""
    return len(a) == len(b) and all(
        type(x) is torch.Tensor and type(y) is torch.Tensor and x.shape == y.shape and x.dtype == y.dtype
        and (checks.equal(x, y) if exact else _allclose(x, y, atol=1e-6, rtol=1e-5)) for x, y in zip(a, b))


def _parameters(model: Answer, names: list[str]) -> list:
    """The values of the answer-side model's parameters, in the order of the check's own copy."""
    values = {p.name: p.value for p in model.parameters()}
    return [values.get(name) for name in names]


q2 = TrainingStep()


# --- q3 ---------------------------------------------------------------------------------

class SmallAccurateNetwork(Exercise):
    id = "lesson08.q3"
    points = 3
    title = "At least 95 % test accuracy with at most 20,000 parameters"
    why = "Where parameters go matters more than how many there are."
    hints = [
        "The lesson's DigitNet reaches about 98 % with 25,658 parameters, over the limit. Most of "
        "them sit in res2 (32 channels) and the head (512 → 10). Make the network narrower: "
        "DigitNet with 12 channels instead of 16 has about 15,000.",
        "For example: a stem Conv2d(1, 12, 3, padding=1) + ReLU, BranchBlock(12, 6), "
        "ResidualBlock(12, 12), nn.MaxPool2d(2), ResidualBlock(12, 24), then nn.Flatten() and "
        "nn.Linear(24 * 4 * 4, 10): 15,454 parameters.",
    ]
    max_parameters = 20_000
    min_accuracy = 0.95
    epochs = 15
    time_budget = 20.0   # processor seconds of training; the reference takes about 4 s on one core

    def solution_object(self):
        namespace = _solution_namespace()
        exec(compile(self.solution_code, f"<solution of {self.id}>", "exec"), namespace)
        return namespace["SmallDigitNet"]

    def evaluate(self, answer):
        """The check's verdict, with the measured figures after the "why" when it passes."""
        self._report = ""
        outcome = super().evaluate(answer)
        if outcome.correct and self._report:
            outcome.message = f"{outcome.message} Measured: {self._report}"
        return outcome

    def check_answer(self, answer):
        model = checks.instantiate(answer)
        expect_registered(model)
        count = checks.parameter_count(model)
        if count == 0:
            raise Incorrect("Your network has no parameters, so there is nothing to train.")
        if count > self.max_parameters:
            raise Incorrect(f"Your network has {count:,} parameters; the limit is {self.max_parameters:,}. "
                            f"Where they are: {checks.parameter_breakdown(model)}.")
        splits = training.load_digit_splits()
        out = model(splits.train_images[:4])
        checks.expect_shape(out, (4, 10), "the output for 4 digits")
        # The course's recipe trains the network where it lives; the verdict is measured here.
        history = _History(answer.session.build(fit_within_budget, model, self.epochs, self.time_budget))
        scores = model.run(splits.test_images, no_grad=True, mode="eval").value
        total = len(splits.test_labels)
        scores = checks.expect_shape(scores, (total, 10), f"the output for {total} test digits")
        correct = int((scores.argmax(dim=1) == splits.test_labels).sum())
        accuracy = correct / total
        needed = -(-round(100 * self.min_accuracy) * total // 100)  # whole images: 95 % of 300 is 285
        if history.stopped_early:
            raise Incorrect(f"Training took longer than the budget of {self.time_budget:g} s of processor time: "
                            f"it stopped after "
                            f"{history.epochs} of {self.epochs} epochs (test accuracy then "
                            f"{100 * accuracy:.1f} %). Make the network cheaper to run: fewer channels, "
                            "or pool earlier.")
        if correct < needed:
            raise Incorrect(f"Test accuracy {100 * accuracy:.1f} % with {count:,} parameters after "
                            f"{self.epochs} epochs; at least {100 * self.min_accuracy:.0f} % is needed. "
                            f"Final training loss {history.train_loss[-1]:.3f}: "
                            + ("the network cannot even fit the training set, give it more capacity "
                               "(channels, a convolution before the head)." if history.train_loss[-1] > 0.2
                               else "it fits the training set but not new digits; convolutions "
                                    "generalise better than large linear layers."))
        self._report = (f"test accuracy {100 * accuracy:.1f} % with {count:,} parameters, trained for "
                        f"{self.epochs} epochs within the budget of {self.time_budget:g} s.")


def fit_within_budget(model: nn.Module, epochs: int, time_budget: float) -> training.History:
    """The course's recipe (``training.fit``) on the digits, on one thread so results repeat
    exactly: built on the answer's side, where the network lives. Its ``History`` only words
    the messages; the check measures the accuracy itself."""
    splits = training.load_digit_splits()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return training.fit(model, splits, epochs=epochs, progress=None, time_budget=time_budget)
    finally:
        torch.set_num_threads(threads)


class _History:
    """What ``fit_within_budget`` reports, read through its handle as plain data."""

    def __init__(self, handle: Answer):
        self.stopped_early = handle.attribute("stopped_early")
        self.epochs = handle.attribute("epochs")
        self.train_loss = handle.attribute("train_loss")
        if type(self.stopped_early) is not bool or type(self.epochs) is not int or \
                type(self.train_loss) is not list or not self.train_loss or \
                not all(type(loss) in (int, float) for loss in self.train_loss):
            raise ProbeFault("the training's history came back malformed")


q3 = SmallAccurateNetwork()


# --- q4 ---------------------------------------------------------------------------------

class _Memoriser(nn.Module):
    """A hidden model that knows its training images by heart: the label of the nearest stored
    image. Dropout on the input makes training mode visibly worse, and every call records the
    mode it ran in."""

    def __init__(self, images, labels):
        super().__init__()
        self.register_buffer("images", images.flatten(1).clone())
        self.register_buffer("labels", labels.clone())
        self.drop = nn.Dropout(0.5)
        self.modes: list[bool] = []

    def forward(self, x):
        self.modes.append(self.training)
        nearest = torch.cdist(self.drop(x.flatten(1)), self.images).argmin(dim=1)
        return F.one_hot(self.labels[nearest], 10).float()


class GeneralisationGap(Exercise):
    id = "lesson08.q4"
    points = 2
    title = "An open question, answered by a measurement: the generalisation gap"
    why = ("A claim about a composition is a number you can recompute: same data, same seed, "
           "same measurement.")
    hints = [
        "Accuracy on a set: the fraction of images whose highest score (`argmax(dim=1)`) is the "
        "label. Measure it on splits.train_images and on splits.test_images, in evaluation mode "
        "(`model.eval()`) and without gradients.",
        "`model.eval()`, then under `torch.no_grad()`: `train = (model(splits.train_images).argmax(1) "
        "== splits.train_labels).float().mean().item()`, the same for test, and "
        "`return 100 * (train - test)`.",
    ]

    def check_answer(self, answer):
        splits = training.load_digit_splits()
        parts = [getattr(splits, f"{part}_{kind}") for part in ("train", "validation", "test")
                 for kind in ("images", "labels")]
        given_splits = answer.session.build(training.DigitSplits, *parts)   # the check's own data
        for remembered in (len(splits.train_labels), 300):
            images, labels = splits.train_images[:remembered], splits.train_labels[:remembered]
            given = answer.session.build(_Memoriser, images, labels)
            given.method("train")
            value = plain_number(checks.call(answer, given, given_splits,
                                             what="`generalisation_gap(model, splits)`"),
                                 "The value generalisation_gap returns")
            model = _Memoriser(images, labels).eval()   # the check's own copy measures
            train, test, validation = (_accuracy(model, getattr(splits, f"{part}_images"),
                                                 getattr(splits, f"{part}_labels"))
                                       for part in ("train", "test", "validation"))
            wanted = 100 * (train - test)
            if abs(value - wanted) <= _TOLERANCE:
                continue
            modes = given.attribute("modes")
            if type(modes) is list and any(mode is True for mode in modes):
                raise Incorrect("The model ran in training mode (dropout still active): call "
                                "`model.eval()` before measuring.")
            if abs(value + wanted) <= _TOLERANCE:
                raise Incorrect("Your gap has the opposite sign: it is train accuracy minus test accuracy "
                                "(positive when the network does better on the images it trained on).")
            if abs(value - wanted / 100) <= _TOLERANCE / 100:
                raise Incorrect("Your gap is a fraction; return it in percentage points "
                                "(100 × (train accuracy − test accuracy)).")
            if abs(value - 100 * (train - validation)) <= _TOLERANCE:
                raise Incorrect("Your gap uses the validation set; this measurement compares the training "
                                "set with the test set.")
            raise Incorrect(f"For a hidden model with train accuracy {100 * train:.2f} % and test accuracy "
                            f"{100 * test:.2f} % your function returns {value:.4g}; expected "
                            f"{wanted:.4g} (percentage points).")


# float32 means and exact counts differ in the 6th digit; one image is 0.08 percentage points
_TOLERANCE = 1e-3


def _accuracy(model, images, labels) -> float:
    with torch.no_grad():
        return (model(images).argmax(dim=1) == labels).float().mean().item()


q4 = GeneralisationGap()
