"""Exercises of lesson 06 (residual): a residual block, a block that halves the image and changes
its channels (a projection shortcut with a stride), a learnable sum, and debugging a residual
block that does not give back its input when its branch is switched off.

Each is a ``ModuleWithCopiedWeights``: the student's block is built with each size set, its
structure is checked (same-size padding, the 1×1 shortcut, a registered ``alpha``, the parameter
count with the layers built without bias named), its first output must have the input's shape and
come from an addition, then the reference's weights are copied in (matched by shape, so attribute
names and order are free) and the outputs compared; the mistakes are known wrong computations.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Incorrect
from course_utils.exercises.kinds import Mistake, ModuleWithCopiedWeights, Requirement
from course_utils.probes.client import Answer, ModuleEntry


# --- what the checks read of a block ------------------------------------------------------------

def convs(model: Answer) -> list[ModuleEntry]:
    """The block's registered 2-D convolutions (``nn.Conv2d`` or a subclass), each once, in order."""
    return [entry for entry in checks.unique(model.tree()) if entry.is_a("Conv2d")]


def has_bias(conv: ModuleEntry) -> bool:
    return any(name == "bias" for name, _, _ in conv.parameters)


def kernel_size(conv: ModuleEntry) -> tuple:
    return tuple(conv.settings.get("kernel_size") or ())


def channels(conv: ModuleEntry) -> tuple:
    """(in_channels, out_channels) of a convolution."""
    return conv.settings.get("in_channels"), conv.settings.get("out_channels")


def count_mismatch(model: Answer, reference: nn.Module, described: str, layers=None) -> str:
    """'X should have N parameters (...); yours has M', naming the layers built with bias=False.

    Why: a student who wrote ``bias=False`` sees a count off by a few channels and no reason;
    the block described keeps PyTorch's default ``bias=True``.
    """
    layers = convs(model) if layers is None else layers
    message = (f"{described}; yours has {checks.parameter_count(model)}. "
               f"Where yours are: {checks.parameter_breakdown(model)}.")
    chosen = {layer.identity for layer in layers}
    without_bias = [conv.name for conv in convs(model) if conv.identity in chosen and not has_bias(conv)]
    if without_bias:
        names = ", ".join(f"`{name}`" for name in without_bias)
        message += (f" {names} {'has' if len(without_bias) == 1 else 'have'} no bias (`bias=False`): the "
                    "block described keeps PyTorch's default `bias=True`, one extra parameter per output channel.")
    return message


def has_addition(run) -> bool:
    """An add in the autograd graph of the output (a run made with ``ops=True``)."""
    return bool(checks.autograd_ops(run) & {"AddBackward0", "AddBackward1"})


def shape_or_type(value) -> object:
    """What a block returned, in a message: its shape, or its type when it is no tensor."""
    return tuple(value.shape) if type(value) is torch.Tensor else checks.type_name(value)


# --- requirements this lesson words itself ----------------------------------------------------------

@dataclass(frozen=True)
class SameSizePadding(Requirement):
    """A residual sum needs the branch to keep the size the shortcut gives: padding = kernel // 2."""

    def check(self, model, reference):
        for conv in convs(model):
            k, p = kernel_size(conv)[0], conv.settings.get("padding")
            if isinstance(p, str) or p[0] == k // 2:
                continue
            raise Incorrect(f"A {k}×{k} convolution with padding={p[0]} shrinks the image, and then "
                            f"branch(x) and the shortcut cannot be added: use padding={k // 2} so the branch's "
                            "height and width come out as the shortcut's.")


@dataclass(frozen=True)
class CountLike(Requirement):
    """As many parameters as the reference; ``described(reference)`` says what the block holds."""

    described: object

    def check(self, model, reference):
        expected = checks.parameter_count(reference)
        if checks.parameter_count(model) != expected:
            raise Incorrect(count_mismatch(model, reference, self.described(reference, expected)))


def first_shape(seen) -> tuple | None:
    """The shape of the answer's first output (None for anything but a tensor)."""
    seen.first()
    return seen.shape


SHAPE_KEPT = Mistake(lambda s: f"A residual block keeps the shape of its input, {tuple(s.args[0].shape)}; "
                               f"yours returned {shape_or_type(s.got)}.",
                     when=lambda s: first_shape(s) != tuple(s.args[0].shape))
ADDITION = Mistake("No addition in your forward (no add in the autograd graph of the output): a residual block "
                   "returns branch(x) + shortcut.", when=lambda s: not has_addition(s.first()))


# --- q1 ---------------------------------------------------------------------------------

class ResidualBlockExercise(ModuleWithCopiedWeights):
    id = "lesson06.q1"
    points = 2
    title = "A residual block: branch(x) + x"
    why = "The identity path lets the signal and its gradient skip the branch untouched."
    hints = [
        "Keep `x`, run it through conv1 → ReLU → conv2, and return the result plus `x`. "
        "nn.Sequential cannot do the addition for you: write it in forward.",
        "conv1 = nn.Conv2d(channels, hidden_channels, 3, padding=1), conv2 = "
        "nn.Conv2d(hidden_channels, channels, 3, padding=1); `return self.conv2(torch.relu("
        "self.conv1(x))) + x`. No ReLU after the addition.",
    ]
    # the notebook draws ResidualBlock(4, 6); the second size set catches channels typed in as numbers
    sizes = [(4, 6), (3, 5)]
    requires = [SameSizePadding(), CountLike(lambda ref, n: (
        f"ResidualBlock{(ref.conv1.in_channels, ref.conv1.out_channels)} should have {n} parameters (two 3×3 "
        f"convolutions, {ref.conv1.in_channels}→{ref.conv1.out_channels} and {ref.conv1.out_channels}→"
        f"{ref.conv1.in_channels} channels)"))]
    refuse = [SHAPE_KEPT, ADDITION]
    mistakes = [
        Mistake("You apply a ReLU after the addition; this block returns branch(x) + x with no activation at the end.",
                result=lambda ref, x: torch.relu(ref(x))),
        Mistake("The ReLU between the two convolutions is missing.",
                result=lambda ref, x: ref.conv2(ref.conv1(x)) + x),
    ]
    otherwise = ("An addition is there, but the output differs from conv2(relu(conv1(x))) + x: add the block's own "
                 "input x (not an intermediate result).")
    subject = staticmethod(lambda s: f"your ResidualBlock{s.sizes}")
    advice = staticmethod(lambda s: f"The block returns conv2(relu(conv1(x))) + x: conv1 reads the {s.sizes[0]} "
                                    f"channels of x and conv2 gives {s.sizes[0]} back, so that the sum is defined.")

    def inputs(self, channels, hidden):
        return (checks.hidden_input(2, channels, 5, 5),)


q1 = ResidualBlockExercise()


# --- q2 ---------------------------------------------------------------------------------

def needs_projection(in_channels, out_channels, stride) -> bool:
    return in_channels != out_channels or stride != 1


def downsample_parts(in_channels, out_channels, stride, shortcut_bias=True) -> nn.ModuleDict:
    """The layers of q2's block, with the check's own weights: conv1 and conv2 (3×3) and, where x must
    change shape, the 1×1 shortcut. Layers only: ``downsample`` computes with them."""
    parts = nn.ModuleDict({"conv1": nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                           "conv2": nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)})
    if needs_projection(in_channels, out_channels, stride):
        parts["shortcut"] = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=shortcut_bias)
    return parts


def downsample(parts: nn.ModuleDict, x, stride, stride_on="conv1", relu_after=False, inner_relu=True):
    """conv2(relu(conv1(x))) + shortcut(x), the stride on ``stride_on`` and on the shortcut; the
    other options give what a common mistake computes."""
    s1, s2 = (stride, 1) if stride_on == "conv1" else (1, stride)
    h = F.conv2d(x, parts["conv1"].weight, parts["conv1"].bias, stride=s1, padding=1)
    h = torch.relu(h) if inner_relu else h
    out = F.conv2d(h, parts["conv2"].weight, parts["conv2"].bias, stride=s2, padding=1)
    shortcut = parts["shortcut"] if "shortcut" in parts else None
    out = out + (x if shortcut is None else F.conv2d(x, shortcut.weight, shortcut.bias, stride=stride))
    return torch.relu(out) if relu_after else out


def _variant(**options):
    """What the block computes with one mistake, on the reference's own layers."""
    return lambda ref, x: downsample(ref.parts, x, ref.settings["stride"], **options)


def projections(model: Answer, in_channels, out_channels) -> list[ModuleEntry]:
    return [c for c in convs(model) if channels(c) == (in_channels, out_channels) and kernel_size(c) == (1, 1)]


@dataclass(frozen=True)
class ProjectionShortcut(Requirement):
    """Where x and the branch differ in shape, a 1×1 convolution with the block's stride brings x to it."""

    def check(self, model, reference):
        in_channels, out_channels, stride = sizes = reference.sizes
        if not needs_projection(*sizes):
            return
        name, layers, found = f"DownsampleBlock{sizes}", convs(model), projections(model, in_channels, out_channels)
        if not found:
            from_input = [c for c in layers if channels(c) == (in_channels, out_channels)]
            if len(layers) >= 3 and from_input:
                k = kernel_size(from_input[-1])
                raise Incorrect(f"In {name} your shortcut convolution has a {k[0]}×{k[1]} kernel; use "
                                "kernel_size=1: the shortcut only changes the channels (and, with its stride, the "
                                "size), it should not mix neighbouring pixels.")
            if in_channels != out_channels:
                why = f"x has {in_channels} channels and the branch {out_channels}"
            else:
                size = (8 + 2 - 3) // stride + 1
                why = (f"the branch's stride {stride} halves the height and width (8×8 becomes {size}×{size}) while x "
                       f"keeps them, although the channels match")
            raise Incorrect(f"In {name} {why}, so x and the branch cannot be added as they are. Give x a "
                            f"projection shortcut: `nn.Conv2d({in_channels}, {out_channels}, kernel_size=1, "
                            f"stride={stride})` applied to x.")
        shortcut_stride = tuple(found[0].settings.get("stride") or ())
        if shortcut_stride != (stride, stride):
            raise Incorrect(f"In {name} the shortcut's 1×1 convolution has stride {shortcut_stride[0]} and the "
                            f"branch stride {stride}: x and the branch come out with different heights and widths. "
                            "Give the shortcut the block's stride.")


@dataclass(frozen=True)
class DownsampleCount(Requirement):
    """The reference's count: two 3×3 convolutions and a 1×1 shortcut, or the identity (no parameters)."""

    def check(self, model, reference):
        sizes = reference.sizes
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found == expected:
            return
        name = f"DownsampleBlock{sizes}"
        if not needs_projection(*sizes) and found > expected:
            raise Incorrect(f"With {name} x already has the branch's shape, so the shortcut should be the "
                            f"identity, with no parameters; yours adds {found - expected}.")
        three_by_three = [c for c in convs(model) if kernel_size(c) != (1, 1)]
        shortcut = "and a 1×1 shortcut" if needs_projection(*sizes) else "and the identity as shortcut"
        raise Incorrect(count_mismatch(model, reference, f"{name} should have {expected} parameters (two 3×3 "
                                       f"convolutions {shortcut})", three_by_three))


class DownsamplingShortcut(ModuleWithCopiedWeights):
    id = "lesson06.q2"
    points = 3
    title = "A residual block that halves the image and changes its channels"
    why = ("The sum needs the same shape on both sides: a 1×1 convolution with the branch's stride brings x to "
           "the branch's channels and size, and the identity is enough only where nothing changes.")
    hints = [
        "Work out the shapes first: for a (1, 4, 8, 8) input, what does the branch of `DownsampleBlock(4, 8, 2)` "
        "give, and what shape does x have? And for `DownsampleBlock(8, 8, 2)`, whose channels do not change?",
        "Whenever the branch changes the channels or the height and width, x must be brought to the same shape "
        "before the sum: a 1×1 convolution changes the channels, and its stride shrinks the image exactly as the "
        "branch's first convolution does.",
        "`self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)`; the shortcut is "
        "`nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)` if `in_channels != out_channels or "
        "stride != 1`, else `nn.Identity()`.",
    ]
    # channels change; the image halves; both; nothing changes (the identity). The lesson's
    # ProjectedResidualBlock(in, out) knows only the first case.
    sizes = [(3, 8, 1), (8, 8, 2), (4, 8, 2), (8, 8, 1)]
    requires = [ProjectionShortcut(), SameSizePadding(), DownsampleCount()]
    refuse = [
        Mistake(lambda s: f"For an input of shape {tuple(s.args[0].shape)} DownsampleBlock{s.sizes} should return "
                          f"{s.expected_shape}; yours returned {shape_or_type(s.got)}.",
                when=lambda s: first_shape(s) != s.expected_shape),
        ADDITION,
    ]
    mistakes = [
        Mistake("The branch's stride is on its second convolution; it belongs on the first, the one that reads x, as "
                "in the shortcut: `conv1` shrinks the image, `conv2` keeps its size.",
                result=_variant(stride_on="conv2")),
        Mistake("You apply a ReLU after the sum; this block returns conv2(relu(conv1(x))) + shortcut(x) with no "
                "activation at the end.", result=_variant(relu_after=True)),
        Mistake("The ReLU between the two convolutions is missing.", result=_variant(inner_relu=False)),
    ]
    otherwise = ("Right layers, different output: the block computes conv2(relu(conv1(x))) + shortcut(x), with the "
                 "stride on conv1 and on the shortcut, and the shortcut applied to the block's input x.")
    subject = staticmethod(lambda s: f"your DownsampleBlock{s.sizes}")
    advice = ("x must reach the sum with the branch's shape: the identity when the channels stay the same and the "
              "stride is 1, otherwise `nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)` applied "
              "to x.")

    def reference_for(self, model, sizes):
        """The shortcut's bias is free: the reference follows the answer's 1×1 projection."""
        found = projections(model, *sizes[:2])
        reference = checks.Computed(downsample_parts(*sizes, shortcut_bias=has_bias(found[0]) if found else True),
                             downsample, stride=sizes[2])
        reference.sizes = sizes
        return reference

    def inputs(self, *sizes):
        return (checks.hidden_input(2, sizes[0], 8, 8, seed=sum(sizes)),)


q2 = DownsamplingShortcut()


# --- q3 ---------------------------------------------------------------------------------

class PlainAttributes:
    """Built next to the student's module: its own attributes that hold a float or a plain
    tensor (what an alpha that is no parameter looks like), as ``[name, "float" | "tensor"]``."""

    def __init__(self, module: nn.Module):
        self.module = module

    def __call__(self) -> list:
        return [[str(name), "float" if isinstance(value, float) else "tensor"]
                for name, value in vars(self.module).items() if isinstance(value, (float, torch.Tensor))]


def alpha_of(model: Answer):
    """The answer's single-number parameter, or None."""
    return next((p for p in model.parameters() if p.value.numel() == 1), None)


@dataclass(frozen=True)
class LearnableAlpha(Requirement):
    """alpha is a registered single-number parameter that learns and starts at 0.5."""

    def check(self, model, reference):
        alpha = alpha_of(model)
        if alpha is None:
            kinds = model.session.build(PlainAttributes, model)()
            for name, kind in [k for k in kinds if type(k) is list and len(k) == 2] if type(kinds) is list else ():
                if kind == "float":
                    raise Incorrect(f"`{name}` is a Python float, which cannot be trained: make it "
                                    "a registered parameter, nn.Parameter(torch.tensor(0.5)).")
                if kind == "tensor":
                    raise Incorrect(f"`{name}` is a plain tensor, so the module does not register "
                                    "it and the optimizer never sees it: wrap it in nn.Parameter(...).")
            raise Incorrect("Your module has no single-number parameter alpha: add "
                            "`self.alpha = nn.Parameter(torch.tensor(0.5))` in __init__.")
        if not alpha.requires_grad:
            raise Incorrect("alpha is a parameter with requires_grad=False, so it never learns; "
                            "leave requires_grad at its default (True).")
        start = float(alpha.value.reshape(-1)[0])
        if abs(start - 0.5) > 1e-6:
            raise Incorrect(f"alpha should start at 0.5; yours starts at {start:.4g}.")


@dataclass(frozen=True)
class WeightedCount(Requirement):
    def check(self, model, reference):
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            raise Incorrect(f"WeightedSum(6) should have {expected} parameters (two Linear(6, 6) and alpha); "
                            f"yours has {found}.")


class LearnableWeightedSum(ModuleWithCopiedWeights):
    id = "lesson06.q3"
    points = 2
    title = "A weighted sum with a learnable alpha"
    why = "A registered nn.Parameter is trained like any weight: the optimizer moves alpha too."
    hints = [
        "alpha must be a parameter of the module, or the optimizer never sees it: "
        "`self.alpha = nn.Parameter(torch.tensor(0.5))`.",
        "forward: `out1 = self.fc1(x)`, `out2 = self.fc2(out1)`, "
        "`return self.alpha * out1 + (1 - self.alpha) * out2`. Use the parameter itself, not "
        "`self.alpha.item()`, or no gradient reaches it.",
    ]
    sizes = [(6,)]
    requires = [LearnableAlpha(), WeightedCount()]
    mistakes = [Mistake("alpha multiplies the wrong path: the output is alpha * fc1(x) + (1 - alpha) * fc2(fc1(x)).",
                        result=lambda ref, x: (1 - ref.alpha) * ref.fc1(x) + ref.alpha * ref.fc2(ref.fc1(x)))]
    otherwise = "The output differs from alpha * out1 + (1 - alpha) * out2 with out1 = fc1(x) and out2 = fc2(out1)."
    subject = "your WeightedSum(6)"
    advice = "WeightedSum(6) returns alpha * fc1(x) + (1 - alpha) * fc2(fc1(x)), 6 features all the way."

    def reference(self, features):
        reference = self.solution_object()(features)
        with torch.no_grad():   # 0.5 hides a swapped formula: compare at another alpha (copied in)
            reference.alpha.fill_(0.2)
        return reference

    def inputs(self, features):
        return (checks.hidden_input(4, features),)

    def matched(self, seen):
        """Equal outputs, but training must move alpha: a gradient has to reach it."""
        alpha = alpha_of(seen.model)
        grads = self._run(seen.model, seen.args, seen, backward=torch.ones_like(seen.expected)).grads
        grad = grads.get(alpha.name)
        if type(grad) is not torch.Tensor or float(grad.abs().sum()) == 0.0:
            raise Incorrect("alpha gets no gradient, so training would never move it: use "
                            "self.alpha itself in forward, not self.alpha.item() or float(...).")


q3 = LearnableWeightedSum()


# --- q4 (debugging) ------------------------------------------------------------------------

def pre_activation_parts(channels) -> nn.ModuleDict:
    """conv1 and conv2 of q4's block, with the check's own weights (layers only: ``pre_activation``
    computes with them)."""
    return nn.ModuleDict({"conv1": nn.Conv2d(channels, channels, kernel_size=3, padding=1),
                          "conv2": nn.Conv2d(channels, channels, kernel_size=3, padding=1)})


def pre_activation(parts: nn.ModuleDict, x, variant="right"):
    """x + conv2(relu(conv1(relu(x)))); ``variant`` gives what a block with one of the broken cell's
    faults returns, for "which symptom is left?"."""
    branch = parts["conv2"](torch.relu(parts["conv1"](torch.relu(x))))
    if variant == "branch only":
        return branch
    if variant == "shortcut after relu":
        return branch + torch.relu(x)
    return branch + x


class LostInputDebug(ModuleWithCopiedWeights):
    id = "lesson06.q4"
    points = 3
    title = "Debug: with its branch switched off, a residual block that does not give back its input"
    why = ("A residual block is x plus a correction: only a shortcut that carries x exactly, added for real, makes "
           "a zero branch the identity. Methods without `_` return a new tensor; `inplace=True` and methods ending "
           "in `_` overwrite the tensor they are given, even the caller's.")
    hints = [
        "Repeat the cell's experiment on your fix: with `conv2` at zero the block must give back `x` exactly. "
        "Compare three tensors: `x` before the call, `x` after it, and what the block returns; then read `forward` "
        "line by line, asking which tensor each line changes and where its result goes.",
        "Two lines do not do what they seem to: one computes the sum and throws the result away, and one "
        "overwrites the block's input before the sum reads it.",
        "`out.add(x)` returns a new tensor and leaves `out` as it was. `nn.ReLU(inplace=True)` writes its result "
        "into the tensor it receives, here `x` itself, the tensor the shortcut should carry.",
    ]
    sizes = [(4,), (7,)]   # channel counts: nothing typed in for the notebook's BrokenPreActBlock(4) passes
    requires = [SameSizePadding(), CountLike(lambda ref, n: (
        f"PreActBlock({ref.settings['channels']}) should have {n} parameters (two 3×3 convolutions, "
        f"{ref.settings['channels']} → {ref.settings['channels']} channels)"))]
    refuse = [SHAPE_KEPT]
    mistakes = [
        Mistake("Switch the branch off (the last convolution at zero) and your block returns zeros, not x: its output "
                "holds only the branch, nothing of the block's input. The sum with x is lost on its way to the output.",
                result=lambda ref, x: pre_activation(ref.parts, x, "branch only")),
        Mistake("Switch the branch off (the last convolution at zero) and your block returns x with every negative "
                "value set to 0, not x: what reaches the sum is relu(x), not the block's input.",
                result=lambda ref, x: pre_activation(ref.parts, x, "shortcut after relu")),
    ]
    otherwise = ("Right layers, different output: the block computes x + conv2(relu(conv1(relu(x)))), a ReLU before "
                 "each convolution and none after the sum.")
    subject = staticmethod(lambda s: f"your PreActBlock({s.sizes[0]})")
    advice = staticmethod(lambda s: f"PreActBlock({s.sizes[0]}) returns x + conv2(relu(conv1(relu(x)))), with "
                                    f"{s.sizes[0]} channels all the way.")

    def reference(self, channel_count):
        return checks.Computed(pre_activation_parts(channel_count), _pre_activation_of, channels=channel_count)

    def inputs(self, channel_count):
        return (checks.hidden_input(2, channel_count, 5, 5, seed=channel_count),)   # negative values too

    def matched(self, seen):
        """The output is right; the caller's x must be too."""
        if 0 in seen.first().changed:
            raise Incorrect(f"Your block's output is right, but calling PreActBlock({seen.sizes[0]}) changed the "
                            "tensor it was given: afterwards `x` has no negative values. A block must leave its "
                            "input as it was; the caller may still need it.")


def _pre_activation_of(parts, x, channels):
    return pre_activation(parts, x)


q4 = LostInputDebug()


# The references are the solutions' own code, built on first use: this module is public and
# imports where no solution is installed.
_REFERENCES = {"ResidualReference": q1, "WeightedSumReference": q3}


def __getattr__(name):
    if name in _REFERENCES:
        return _REFERENCES[name].solution_object()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
