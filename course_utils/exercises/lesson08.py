"""Exercises of lesson 08 (capstone): assemble a network, a training step that clips the gradients,
a small accurate network composed of a branch and a residual block, and an open question answered
by a measurement.

The parts the student assembles (``BranchBlock``, ``ResidualBlock``) are defined here, once: the
exercise notebook imports them and shows their source, and the reference of exercise 1 is built
from the same classes. Checks compare plain Python numbers and tensors the check itself created.

q1 is a ``ModuleWithCopiedWeights`` (the parts' structure as data, the wrong orders as known
results), q3 a ``TrainToTarget`` (trained where the network lives, counted here: 285 of 300 is
95 %), q4 a ``FunctionOnCases`` on two hidden models. q2 stays a plain ``Exercise``, since its three
calls share one model and optimizer, each step judged on the state the previous one left; each
``Step`` is judged like a case, its refusals and the common mistakes its parameters follow as data.
The models and optimizers a student's function receives are built on the answer's side
(``session.build`` of the module-level factories below, never a solution).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from fractions import Fraction

import torch
import torch.nn.functional as F
from torch import nn

from course_utils import training
from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds import (Built, Case, FunctionOnCases, Mistake, ModuleWithCopiedWeights,
                                          Requirement, Score, Seen, TrainToTarget)
from course_utils.exercises.kinds.parts import first_fitting
from course_utils.probes.client import Answer, ProbeFault

# About how long a solved notebook of this lesson computes in its grading kernel (it trains):
# the grader runs such notebooks side by side (contract.KERNEL_SECONDS)
KERNEL_SECONDS = 10


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


def _solution(exercise: Exercise, name: str):
    """The solution's class, built with the parts it composes in scope."""
    namespace = {"torch": torch, "nn": nn, "F": F, "OrderedDict": OrderedDict,
                 "BranchBlock": BranchBlock, "ResidualBlock": ResidualBlock}
    exec(compile(exercise.solution_code, f"<solution of {exercise.id}>", "exec"), namespace)
    return namespace[name]


ADDS = {"AddBackward0", "AddBackward1"}


# --- q1 ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CountOfCapstoneNet(Requirement):
    """As many registered parameters as the specification gives, said in its terms."""

    def check(self, model, reference):
        checks.expect_registered(model)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            raise Incorrect(f"CapstoneNet should have {expected:,} parameters; yours has {found:,}. "
                            f"Where yours are: {checks.parameter_breakdown(model)}. Compare each part's "
                            "channels with the specification.")


@dataclass(frozen=True)
class NamedStem(Requirement):
    """A part named ``stem``: an ``nn.Sequential`` whose children are named conv and relu."""

    def check(self, model, reference):
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


def _first_output(seen):
    """The plain output of the answer's first run (with its own weights)."""
    seen.first()
    return seen.got


def _never_run(seen) -> list[str]:
    """The registered layers with parameters of the answer that its forward never called."""
    calls = seen.first().calls
    return [e.name for e in checks.unique(seen.model.tree()) if e.parameters and calls.get(e.name, 0) == 0]


def _in_order(*order):
    """The reference's parts applied in ``order``: what a forward with that order computes."""
    def run(reference, x):
        for name in order:
            x = getattr(reference, name)(x)
        return x
    return run


ORDER = ("stem", "branch", "res1", "pool", "res2", "head")
_POOL_LATE = ("the max-pool comes after res2; it belongs between res1 and res2, so that res2 works "
              "on 4×4 maps")
_POOL_EARLY = ("the max-pool comes before res1; it belongs between res1 and res2, so that res1 "
               "still sees the full 8×8 image")


class AssembleFromSpecification(ModuleWithCopiedWeights):
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
    sizes = [()]
    requires = [CountOfCapstoneNet(), NamedStem()]
    subject = "your CapstoneNet"
    advice = ("Each part receives what the one before it gives, in the specification's order: stem 1 → 8 "
              "channels, branch 8 → 16, res1 16 → 24, pool halves 8×8 to 4×4, res2 24 → 24, head 24 × 4 × 4 "
              "= 384 features → 10.")
    refuse = [   # on the answer's first run, with its own weights
        Mistake("Expected the output for 5 images to be a tensor, got {kind}.",
                when=lambda s: type(_first_output(s)) is not torch.Tensor),
        Mistake("The output for 5 images has shape {shape}; expected (5, 10).", when=lambda s: s.shape != (5, 10)),
        Mistake("The output is not connected to any parameter (no autograd graph): was it computed under "
                "`torch.no_grad()` or detached?", when=lambda s: not s.first().connected),
        Mistake("No `torch.cat` in your forward: the branch joins its two views with cat; use `BranchBlock(8, 8)`.",
                when=lambda s: "CatBackward0" not in s.first().ops),
        Mistake("No addition in your forward: res1 and res2 are residual blocks (`ResidualBlock`), which add "
                "their shortcut.", when=lambda s: not s.first().ops & ADDS),
        Mistake(lambda s: f"`{_never_run(s)[0]}` is registered but never runs in forward: call every part, in the "
                          f"order {', '.join(ORDER)}.", when=lambda s: _never_run(s)),
    ]
    mistakes = [
        Mistake(f"Right parts, wrong order: {_POOL_LATE}.",
                result=_in_order("stem", "branch", "res1", "res2", "pool", "head")),
        Mistake(f"Right parts, wrong order: {_POOL_EARLY}.",
                result=_in_order("stem", "branch", "pool", "res1", "res2", "head")),
    ]
    otherwise = staticmethod(lambda s: "The parts and parameters are right, but the output differs: forward must "
                                       f"apply {' → '.join(ORDER)}, each exactly once, and return the head's output "
                                       f"(largest difference {float((s.got - s.expected).abs().max()):.3g}).")

    def solution_object(self):
        return _solution(self, "CapstoneNet")

    def inputs(self):
        return (checks.hidden_input(5, 1, 8, 8),)


q1 = AssembleFromSpecification()


# --- q2 ---------------------------------------------------------------------------------

def _step_model() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def step_optimizer(model: nn.Module, lr: float, momentum: float) -> torch.optim.Optimizer:
    """The optimizer a student's ``train_step`` receives (built next to the model it updates)."""
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)


def clipped_steps(model: nn.Module, batches, max_norms, lr: float, momentum: float, variant: str = "right"):
    """[(loss, parameters)] after each step on a copy of ``model``: the exercise's step, or with
    ``variant`` a common mistake ("no clipping", "by value", "no zero_grad", "new optimizer")."""
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    out = []
    for (images, labels), max_norm in zip(batches, max_norms):
        if variant != "no zero_grad":
            optimizer.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        if variant == "by value":
            nn.utils.clip_grad_value_(model.parameters(), max_norm)
        elif variant != "no clipping":
            nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        (torch.optim.SGD(model.parameters(), lr=lr) if variant == "new optimizer" else optimizer).step()
        out.append((loss.item(), [p.detach().clone() for p in model.parameters()]))
    return out


def _matches(a, b, exact: bool = False) -> bool:
    """Two lists of tensors of the same shapes and dtypes, value for value (to float tolerance)."""
    return len(a) == len(b) and all(
        type(x) is torch.Tensor and type(y) is torch.Tensor and x.shape == y.shape and x.dtype == y.dtype
        and (checks.equal(x, y) if exact else checks.close(x, y, atol=1e-6, rtol=1e-5)) for x, y in zip(a, b))


def _parameters(model: Answer, names: list[str]) -> list:
    """The values of the answer-side model's parameters, in the order of the check's own copy."""
    values = {p.name: p.value for p in model.parameters()}
    return [values.get(name) for name in names]


@dataclass
class Step(Seen):
    """One call of ``train_step`` as the check saw it: ``got`` the loss it returned (a plain float), the
    answer's parameters ``before`` and ``after`` it (in the order of the check's copy ``start``), and
    ``wanted``, the loss and parameters of the exercise's ``n`` steps from ``start``."""

    n: int = 0
    before: list = field(default_factory=list)
    after: list = field(default_factory=list)
    wanted: tuple = ()
    start: nn.Module | None = None
    batches: list = field(default_factory=list)

    @property
    def loss_differs(self) -> bool:
        return abs(self.got - self.wanted[0]) > 1e-5 * max(1.0, abs(self.wanted[0]))

    def softmaxed(self) -> float:
        """The loss of the first batch with softmax applied before ``F.cross_entropy``."""
        with torch.no_grad():
            images, labels = self.batches[0]
            return F.cross_entropy(F.softmax(self.start(images), dim=1), labels).item()

    def follows(self, variant: str) -> bool:
        """The parameters are those of ``n`` steps of a common mistake (``clipped_steps``' ``variant``)."""
        exercise = self.exercise
        steps = clipped_steps(self.start, self.batches[:self.n], exercise.max_norms, exercise.lr, exercise.momentum,
                              variant)
        return _matches(steps[-1][1], self.after)


class TrainingStep(Exercise):
    id = "lesson08.q2"
    points = 2
    title = "A training step that clips the gradients"
    why = ("Every training loop repeats the same moves: clear the old gradients, compute the loss, backpropagate, "
           "update. Anything that changes the gradients, clipping included, goes between the moment they exist "
           "(backward) and the moment they are used (step).")
    hints = [
        "Start from the lesson's four moves (clear, loss, backward, update) and ask where the clipping must go "
        "so that it acts on this step's gradients, and how `max_norm` reaches it.",
        "Clipping changes the gradients, so they must exist already (after `loss.backward()`) and not have been "
        "used yet (before `optimizer.step()`). The norm is that of all the model's gradients taken together.",
        "`torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)` between `loss.backward()` and "
        "`optimizer.step()`; return the loss as a Python number, `loss.item()`.",
    ]
    steps = 3
    lr, momentum = 0.1, 0.9
    # the gradients here have a norm of about 0.4 and values up to about 0.08: every step is clipped,
    # whether by norm (right) or, by mistake, value by value
    max_norms = (0.04, 0.02, 0.03)
    what = "`train_step(model, optimizer, images, labels, max_norm)`"
    refuse = [   # after each call, in order, on the Step
        Mistake("After a call of train_step the parameters did not change: the step must end with `optimizer.step()`, "
                "after `loss.backward()` (and `optimizer.zero_grad()` belongs before `backward()`, not between it and "
                "`step()`).", when=lambda s: _matches(s.after, s.before, exact=True)),
        Mistake("Your loss applies softmax before F.cross_entropy, which already contains it (log-softmax inside): "
                "pass the raw scores `model(images)`.", when=lambda s: s.loss_differs and abs(s.got - s.softmaxed()) < 1e-5),
        Mistake("The loss your step returns ({got:.4f}) differs from `F.cross_entropy(model(images), labels)` before "
                "the update ({wanted[0]:.4f}).", when=lambda s: s.loss_differs),
    ]
    mistakes = [   # the parameters differ from the exercise's steps: those of a common mistake's steps
        Mistake("Your steps move the weights exactly as steps without clipping would: the gradients reach "
                "`optimizer.step()` at full size. Clipping must act on this step's gradients: after `loss.backward()` "
                "makes them and before `optimizer.step()` uses them.", when=lambda s: s.follows("no clipping")),
        Mistake("You clip each gradient value to ±max_norm (`clip_grad_value_`); the exercise clips the norm of all "
                "the gradients taken together (`clip_grad_norm_`), which keeps their direction.",
                when=lambda s: s.follows("by value")),
        Mistake("From the second step on the gradients pile up: call `optimizer.zero_grad()` at the start of every "
                "step.", when=lambda s: s.follows("no zero_grad")),
        Mistake("Use the optimizer you are given: a new optimizer in every step forgets its momentum (and never sees "
                "the learning rate chosen for it).", when=lambda s: s.follows("new optimizer")),
    ]
    otherwise = ("After step {n} the parameters differ from one clipped step of the optimizer you were given: "
                 "zero_grad, loss, backward, clip the gradients' norm to `max_norm`, step, in that order, once per call.")

    def check_answer(self, answer):
        """Three calls on one model and optimizer (on the answer's side), each judged on the state the one
        before left: a step is right only if it continues the exercise's steps."""
        splits = training.load_digit_splits()
        batches = [(splits.train_images[i * 32:(i + 1) * 32], splits.train_labels[i * 32:(i + 1) * 32])
                   for i in range(self.steps)]
        start, model = answer.session.twin(_step_model)   # the same weights on both sides
        names = [name for name, _ in start.named_parameters()]
        expected = clipped_steps(start, batches, self.max_norms, self.lr, self.momentum)
        optimizer = answer.session.build(step_optimizer, model, self.lr, self.momentum)
        after = _parameters(model, names)
        for n, ((images, labels), max_norm) in enumerate(zip(batches, self.max_norms), start=1):
            with checks.worded(None, self.what, kinds=(RuntimeError, TypeError, AttributeError)):
                value = checks.call(answer, model, optimizer, images, labels, max_norm, what=self.what)
            loss = plain_number(value, "The value train_step returns")
            step = Step(self, answer, Case(()), (), got=loss, n=n, before=after, after=_parameters(model, names),
                        wanted=expected[n - 1], start=start, batches=batches)
            after = step.after      # the next step starts where this one left the model
            first_fitting(self.refuse, step, prefix="")
            if not _matches(step.after, step.wanted[1]):
                first_fitting(self.mistakes, step, prefix="")
                raise Incorrect(step.say(self.otherwise))


q2 = TrainingStep()


# --- q3 ---------------------------------------------------------------------------------

UNSEEN_NOISE, UNSEEN_SEED = 0.02, 808   # pixels are in [0, 1]
LEARNED_BY_HEART = ("It gets {learned:.1f} % of the training digits right: it has learned the training set but not "
                    "digits in general. Convolutions, which look for the same pattern everywhere, generalise better "
                    "than large linear layers.")
NOT_LEARNED = ("It gets only {learned:.1f} % of the training digits right: it has not even learned the digits it "
               "trained on. Give it capacity where it counts: more channels, a convolution before the head.")
HEAD_ADVICE = ("Every layer must receive what the one before it gives: after the last pooling each digit is channels "
               "× height × width numbers, and the Linear layer of the head must read exactly that many.")


class SmallAccurateNetwork(TrainToTarget):
    id = "lesson08.q3"
    points = 3
    title = "At least 95 % test accuracy with at most 20,000 parameters, composed of a branch and a residual block"
    why = "Where parameters go matters more than how many there are."
    hints = [
        "Count where the lesson's networks keep their parameters: DigitNet has 25,658, more than half of them in "
        "res2 (32 channels) and 5,130 in its head (512 → 10). A narrower DigitNet keeps every part and fits.",
        "DigitNet with 12 channels instead of 16 has about 15,000 parameters. Any network with a branch joined by "
        "`torch.cat` (a `BranchBlock`) and a residual block (a `ResidualBlock`), and enough channels before the "
        "head, will do.",
        "For example: a stem Conv2d(1, 12, 3, padding=1) + ReLU, BranchBlock(12, 6), "
        "ResidualBlock(12, 12), nn.MaxPool2d(2), ResidualBlock(12, 24), then nn.Flatten() and "
        "nn.Linear(24 * 4 * 4, 10): 15,454 parameters.",
    ]
    target = Fraction(95, 100)   # whole images: 285 of 300 passes (float32 would say 0.94999)
    short = ("Test accuracy {score} with {parameters:,} parameters after {epochs} epochs; at least {target} is "
             "needed. {why}")
    max_parameters = 20_000
    epochs = 15
    time_budget = 20.0   # processor seconds of training; the reference takes about 4 s on one core

    def solution_object(self):
        return _solution(self, "SmallDigitNet")

    def evaluate(self, answer):
        """The check's verdict, with the measured figures after the "why" when it passes."""
        self._report = ""
        outcome = super().evaluate(answer)
        if outcome.correct and self._report:
            outcome.message = f"{outcome.message} Measured: {self._report}"
        return outcome

    def measure(self, answer):
        model = self._build(answer)
        checks.expect_registered(model)
        count = checks.parameter_count(model)
        if count == 0:
            raise Incorrect("Your network has no parameters, so there is nothing to train.")
        if count > self.max_parameters:
            raise Incorrect(f"Your network has {count:,} parameters; the limit is {self.max_parameters:,}. "
                            f"Where they are: {checks.parameter_breakdown(model)}.")
        splits = training.load_digit_splits()
        run = self._run(model, splits.train_images[:4], ops=True)
        checks.expect_shape(run.value, (4, 10), "the output for 4 digits")
        if "CatBackward0" not in run.ops:
            raise Incorrect("Your network has no branch joined by `torch.cat` (no cat in the autograd graph of its "
                            "output): the exercise asks for one, a `BranchBlock` for instance.")
        if not run.ops & ADDS:
            raise Incorrect("Your network has no residual connection (no addition of two paths in the autograd graph "
                            "of its output): the exercise asks for one, a `ResidualBlock` for instance.")
        # The course's recipe trains the network where it lives; the verdict is measured here.
        history = _History(answer.session.build(fit_within_budget, model, self.epochs, self.time_budget))
        score = Score(self._correct(model, self._unseen(splits.test_images), splits.test_labels),
                      len(splits.test_labels), details={"parameters": count, "epochs": self.epochs})
        if history.stopped_early:
            raise Incorrect(f"Training took longer than the budget of {self.time_budget:g} s of processor time: "
                            f"it stopped after {history.epochs} of {self.epochs} epochs (test accuracy then "
                            f"{score.percent()}). Make the network cheaper to run: fewer channels, or pool earlier.")
        if not self.reached(score):
            learned = self._correct(model, splits.train_images, splits.train_labels) / len(splits.train_labels)
            score.details["why"] = (LEARNED_BY_HEART if learned >= 0.99 else NOT_LEARNED).format(learned=100 * learned)
        self._report = (f"test accuracy {score.percent()} with {count:,} parameters, trained for "
                        f"{self.epochs} epochs within the budget of {self.time_budget:g} s.")
        return score

    @staticmethod
    def _build(answer):
        """The network to train, fresh: built from a class, or by a function (no arguments) that returns it."""
        if answer.kind == "function":
            model = checks.call(answer, what="`SmallDigitNet()`")
            if not (isinstance(model, Answer) and model.is_module()):
                raise Incorrect("Your function should return the network (an `nn.Module`, an `nn.Sequential` for "
                                f"instance); it returned {checks.kind_of(model)}.")
            return model
        if answer.kind == "module":
            raise Incorrect("Pass a class, or a function that builds the network, not a network already built: the "
                            "check builds a fresh one to train it (`check(SmallDigitNet)`, not "
                            "`check(SmallDigitNet())`).")
        return checks.instantiate(answer)

    @staticmethod
    def _run(model, images, **options):
        with checks.worded(model, "your network", HEAD_ADVICE):
            return model.run(images, **options)

    @staticmethod
    def _unseen(images):
        """The test digits; under grading with faint noise drawn from the grader's secret, so a
        network that looks the known test images up instead of reading them gets nothing (an
        honest network loses at most an image or two to it: 289-294 of 300 at this noise)."""
        if not checks.fresh_inputs():
            return images
        return images + UNSEEN_NOISE * torch.randn(images.shape, generator=checks.generator(UNSEEN_SEED))

    def _correct(self, model, images, labels) -> int:
        """How many of ``images`` the trained network gets right, counted here (evaluation mode)."""
        total = len(labels)
        scores = self._run(model, images, no_grad=True, mode="eval").value
        scores = checks.expect_shape(scores, (total, 10), f"the output for {total} digits")
        return int((scores.argmax(dim=1) == labels).sum())


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
        # each image answered with its own confidence: a loss is then no count of right answers
        confidence = 1 + 3 * (x.flatten(1).sum(dim=1) % 1)
        return F.one_hot(self.labels[nearest], 10).float() * confidence.unsqueeze(1)


# float32 means and exact counts differ in the 6th digit; one image is 0.08 percentage points
_TOLERANCE = 1e-3


def _accuracy(model, splits, part: str) -> float:
    """The share of ``part``'s digits (train, validation, test) the hidden model gets right (eval mode)."""
    with torch.no_grad():
        scores = model.eval()(getattr(splits, f"{part}_images"))
        return (scores.argmax(dim=1) == getattr(splits, f"{part}_labels")).float().mean().item()


def _loss(model, splits, part: str) -> float:
    with torch.no_grad():
        scores = model.eval()(getattr(splits, f"{part}_images"))
        return F.cross_entropy(scores, getattr(splits, f"{part}_labels")).item()


def _near(value: float, wanted: float, tolerance: float = _TOLERANCE) -> bool:
    return abs(value - wanted) <= tolerance


def _ran_in_training_mode(seen) -> bool:
    modes = seen.given[0].attribute("modes")    # what the answer's own copy of the hidden model recorded
    return type(modes) is list and any(mode is True for mode in modes)


def _from_losses(seen) -> bool:
    model, splits = seen.args
    gap = _loss(model, splits, "test") - _loss(model, splits, "train")
    return _near(seen.got, 100 * gap) or _near(seen.got, gap)


class GeneralisationGap(FunctionOnCases):
    id = "lesson08.q4"
    points = 2
    title = "An open question, answered by a measurement: the generalisation gap"
    why = ("A claim about a composition is a number you can recompute: same data, same seed, "
           "same measurement.")
    hints = [
        "Accuracy on a set of images: the fraction whose highest score is the right label. You need it twice, "
        "on the training images and on the test images; the gap is the first minus the second, in percentage "
        "points.",
        "Measure as the lesson's `evaluate` does: in evaluation mode (`model.eval()`, so dropout is off) and "
        "without gradients (`torch.no_grad()`). `scores.argmax(dim=1)` is the digit the network predicts.",
        "`(model(images).argmax(dim=1) == labels).float().mean().item()` is the accuracy of one set as a "
        "fraction; compute it for the training and the test images, and return 100 times their difference.",
    ]
    function = "generalisation_gap(model, splits)"
    must_be_function = False
    worded = "`generalisation_gap(model, splits)`"
    mistakes = [
        Mistake("The model ran in training mode (dropout still active): call `model.eval()` before measuring.",
                when=_ran_in_training_mode),
        Mistake("Your gap has the opposite sign: it is train accuracy minus test accuracy (positive when the network "
                "does better on the images it trained on).", when=lambda s: _near(s.got, -s.expected)),
        Mistake("Your gap is a fraction; return it in percentage points (100 × (train accuracy − test accuracy)).",
                when=lambda s: _near(s.got, s.expected / 100, _TOLERANCE / 100)),
        Mistake("Your gap uses the validation set; this measurement compares the training set with the test set.",
                when=lambda s: _near(s.got, 100 * (_accuracy(*s.args, "train") - _accuracy(*s.args, "validation")))),
        Mistake("Your gap is the difference of the losses (test loss − train loss); this measurement compares "
                "accuracies, the share of digits each set gets right.", when=_from_losses),
    ]
    otherwise = staticmethod(lambda s: "For a hidden model with train accuracy "
                                       f"{100 * _accuracy(*s.args, 'train'):.2f} % and test accuracy "
                                       f"{100 * _accuracy(*s.args, 'test'):.2f} % your function returns "
                                       f"{s.got:.4g}; expected {s.expected:.4g} (percentage points).")

    def make_cases(self):
        """Two hidden models that know some training digits by heart (all of them, then 300), each given
        with the check's own copy of the digits."""
        splits = training.load_digit_splits()
        parts = [getattr(splits, f"{part}_{kind}") for part in ("train", "validation", "test")
                 for kind in ("images", "labels")]
        return [Case((Built(_Memoriser, splits.train_images[:remembered], splits.train_labels[:remembered]),
                      Built(training.DigitSplits, *parts))) for remembered in (len(splits.train_labels), 300)]

    def expected(self, model, splits):
        return 100 * (_accuracy(model, splits, "train") - _accuracy(model, splits, "test"))

    def returns(self, got, seen):
        return plain_number(got, "The value generalisation_gap returns")

    def same(self, got, expected):
        return _near(got, expected)


q4 = GeneralisationGap()
