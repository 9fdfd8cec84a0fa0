"""Exercises of lesson 06 (residual): a residual block, a block that halves the image and changes
its channels (a projection shortcut with a stride), a learnable sum, and debugging a residual
block that does not give back its input when its branch is switched off.

Behavioural checks copy the reference's weights into the student's block (matched by shape, so
attribute names and order are free) and compare outputs; structural checks look for an addition
in the autograd graph, the 1×1 shortcut conv, and a registered ``alpha``. Every check is probed:
it reaches the student's block only through its ``Answer`` handle (the module tree, parameters,
runs), and computes every expected value from its own reference.
"""

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import checks, torch_errors
from course_utils.exercises.checks import copy_weights_by_shape, same
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.probes.client import Answer, BindError, ModuleEntry, Run

_CONV_SETTINGS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")


def _is_conv2d(entry: ModuleEntry) -> bool:
    """An ``nn.Conv2d``, or a subclass of it the student (or another library) wrote."""
    if entry.type == "Conv2d":
        return True
    kernel = entry.settings.get("kernel_size")
    return (not entry.library and all(key in entry.settings for key in _CONV_SETTINGS)
            and type(kernel) is tuple and len(kernel) == 2)


def convs(model: Answer) -> list[ModuleEntry]:
    """The block's registered 2-D convolutions, each once, in registration order."""
    seen, found = set(), []
    for entry in model.tree():
        if entry.identity not in seen:
            seen.add(entry.identity)
            if _is_conv2d(entry):
                found.append(entry)
    return found


def has_bias(conv: ModuleEntry) -> bool:
    return any(name == "bias" for name, _, _ in conv.parameters)


def kernel_size(conv: ModuleEntry) -> tuple:
    return tuple(conv.settings.get("kernel_size") or ())


def channels(conv: ModuleEntry) -> tuple:
    """(in_channels, out_channels) of a convolution."""
    return conv.settings.get("in_channels"), conv.settings.get("out_channels")


def expect_same_size_padding(model: Answer) -> None:
    """A residual sum needs the branch to keep the size the shortcut gives: padding = kernel // 2."""
    for conv in convs(model):
        k, p = kernel_size(conv)[0], conv.settings.get("padding")
        if isinstance(p, str) or p[0] == k // 2:
            continue
        raise Incorrect(f"A {k}×{k} convolution with padding={p[0]} shrinks the image, and then "
                        f"branch(x) and the shortcut cannot be added: use padding={k // 2} so the branch's "
                        "height and width come out as the shortcut's.")


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


def run_block(model: Answer, x: torch.Tensor, subject: str = "your block", advice: str = "", **options) -> Run:
    """One forward pass of the block on ``x`` (``options`` as for ``Answer.run``); a forward that
    cannot take one input is worded as every check words a wrong signature, and PyTorch's errors
    become the course's words about ``subject`` (``torch_errors``), with ``advice`` after them."""
    with torch_errors.worded(model, subject, advice):
        try:
            return model.run(x, **options)
        except BindError:
            checks.call(model, x, what=subject)   # raises the course's Incorrect for this signature
            raise


def has_addition(run: Run) -> bool:
    """An add in the autograd graph of the output (``run`` made with ``ops=True``)."""
    return bool(checks.autograd_ops(run) & {"AddBackward0", "AddBackward1"})


def expect_addition(run: Run) -> None:
    if not has_addition(run):
        raise Incorrect("No addition in your forward (no add in the autograd graph of the "
                        "output): a residual block returns branch(x) + shortcut.")


def shape_or_type(value) -> object:
    """What a block returned, in a message: its shape, or its type when it is no tensor."""
    return tuple(value.shape) if type(value) is torch.Tensor else checks.type_name(value)


# --- q1 ---------------------------------------------------------------------------------

class ResidualBlockExercise(Exercise):
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
    cases = [(4, 6), (3, 5)]

    def check_answer(self, answer):
        for sizes in self.cases:
            self._check_one(answer, sizes)

    def _check_one(self, answer, sizes):
        channels, hidden = sizes
        model = checks.instantiate(answer, *sizes)
        expect_same_size_padding(model)
        reference = q1.solution_object()(*sizes)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            raise Incorrect(count_mismatch(model, reference, f"ResidualBlock{sizes} should have {expected} parameters "
                                           f"(two 3×3 convolutions, {channels}→{hidden} and {hidden}→{channels} "
                                           "channels)"))
        x = checks.hidden_input(2, channels, 5, 5)
        subject = f"your ResidualBlock{sizes}"
        advice = (f"The block returns conv2(relu(conv1(x))) + x: conv1 reads the {channels} channels of x and "
                  f"conv2 gives {channels} back, so that the sum is defined.")
        run = run_block(model, x, subject, advice, ops=True)
        out = run.value
        if type(out) is not torch.Tensor or out.shape != x.shape:
            raise Incorrect(f"A residual block keeps the shape of its input, {tuple(x.shape)}; "
                            f"yours returned {shape_or_type(out)}.")
        expect_addition(run)
        copy_weights_by_shape(reference, model)
        out = checks.plain(run_block(model, x, subject, advice, no_grad=True).value)
        with torch.no_grad():
            wanted = reference(x)
            if same(out, wanted):
                return
            if same(out, torch.relu(wanted)):
                raise Incorrect("You apply a ReLU after the addition; this block returns "
                                "branch(x) + x with no activation at the end.")
            if same(out, reference.conv2(reference.conv1(x)) + x):
                raise Incorrect("The ReLU between the two convolutions is missing.")
        raise Incorrect("An addition is there, but the output differs from conv2(relu(conv1(x))) "
                        "+ x: add the block's own input x (not an intermediate result).")


q1 = ResidualBlockExercise()


# --- q2 ---------------------------------------------------------------------------------

def downsample_parts(in_channels, out_channels, stride, shortcut_bias=True) -> nn.ModuleDict:
    """The layers of q2's block, with the check's own weights: conv1 and conv2 (3×3) and, where x must
    change shape, the 1×1 shortcut. Layers only, no forward: ``downsample`` computes with them (so
    nothing here is an answer a student could import)."""
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


def needs_projection(in_channels, out_channels, stride) -> bool:
    return in_channels != out_channels or stride != 1


class DownsamplingShortcut(Exercise):
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
    cases = [(3, 8, 1), (8, 8, 2), (4, 8, 2), (8, 8, 1)]

    def check_answer(self, answer):
        for sizes in self.cases:
            self._check_one(checks.instantiate(answer, *sizes), sizes)

    def _check_one(self, model, sizes):
        in_channels, out_channels, stride = sizes
        name = f"DownsampleBlock{sizes}"
        layers = convs(model)
        projections = [c for c in layers if channels(c) == (in_channels, out_channels) and kernel_size(c) == (1, 1)]
        if needs_projection(*sizes):
            self._expect_projection(name, sizes, layers, projections)
        expect_same_size_padding(model)
        bias = has_bias(projections[0]) if projections else True
        reference = downsample_parts(in_channels, out_channels, stride, shortcut_bias=bias)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            if not needs_projection(*sizes) and found > expected:
                raise Incorrect(f"With {name} x already has the branch's shape, so the shortcut should be the "
                                f"identity, with no parameters; yours adds {found - expected}.")
            three_by_three = [c for c in layers if kernel_size(c) != (1, 1)]
            shortcut = "and a 1×1 shortcut" if needs_projection(*sizes) else "and the identity as shortcut"
            raise Incorrect(count_mismatch(model, reference, f"{name} should have {expected} parameters (two 3×3 "
                                           f"convolutions {shortcut})", three_by_three))
        x = checks.hidden_input(2, in_channels, 8, 8, seed=sum(sizes))
        advice = ("x must reach the sum with the branch's shape: the identity when the channels stay the same "
                  "and the stride is 1, otherwise `nn.Conv2d(in_channels, out_channels, kernel_size=1, "
                  "stride=stride)` applied to x.")
        run = run_block(model, x, f"your {name}", advice, ops=True)
        size = (8 + 2 - 3) // stride + 1
        expected_shape = (2, out_channels, size, size)
        if type(run.value) is not torch.Tensor or run.value.shape != expected_shape:
            raise Incorrect(f"For an input of shape {tuple(x.shape)} {name} should return {expected_shape}; "
                            f"yours returned {shape_or_type(run.value)}.")
        expect_addition(run)

        def output():
            return checks.plain(run_block(model, x, f"your {name}", advice, no_grad=True).value)

        def agrees_with(wanted):
            return lambda: same(output(), wanted)

        with torch.no_grad():
            # conv1 and conv2 (and their biases) may share shapes: try both pairings
            if checks.copy_weights_until(reference, model, agrees_with(downsample(reference, x, stride))):
                return
            for options, message in [
                ({"stride_on": "conv2"}, "The branch's stride is on its second convolution; it belongs on the first, "
                                         "the one that reads x, as in the shortcut: `conv1` shrinks the image, "
                                         "`conv2` keeps its size."),
                ({"relu_after": True}, "You apply a ReLU after the sum; this block returns conv2(relu(conv1(x))) + "
                                       "shortcut(x) with no activation at the end."),
                ({"inner_relu": False}, "The ReLU between the two convolutions is missing."),
            ]:
                if checks.copy_weights_until(reference, model, agrees_with(downsample(reference, x, stride, **options))):
                    raise Incorrect(message)
        raise Incorrect("Right layers, different output: the block computes conv2(relu(conv1(x))) + shortcut(x), "
                        "with the stride on conv1 and on the shortcut, and the shortcut applied to the block's "
                        "input x.")

    @staticmethod
    def _expect_projection(name, sizes, layers, projections):
        in_channels, out_channels, stride = sizes
        if not projections:
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
        shortcut_stride = tuple(projections[0].settings.get("stride") or ())
        if shortcut_stride != (stride, stride):
            raise Incorrect(f"In {name} the shortcut's 1×1 convolution has stride {shortcut_stride[0]} and the "
                            f"branch stride {stride}: x and the branch come out with different heights and widths. "
                            "Give the shortcut the block's stride.")


q2 = DownsamplingShortcut()


# --- q3 ---------------------------------------------------------------------------------

class LearnableWeightedSum(Exercise):
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

    def check_answer(self, answer):
        model = checks.instantiate(answer, 6)
        alpha = self._find_alpha(model)
        if not alpha.requires_grad:
            raise Incorrect("alpha is a parameter with requires_grad=False, so it never learns; "
                            "leave requires_grad at its default (True).")
        start = float(alpha.value.reshape(-1)[0])
        if abs(start - 0.5) > 1e-6:
            raise Incorrect(f"alpha should start at 0.5; yours starts at {start:.4g}.")
        reference = q3.solution_object()(6)
        if checks.parameter_count(model) != checks.parameter_count(reference):
            raise Incorrect(f"WeightedSum(6) should have {checks.parameter_count(reference)} parameters "
                            f"(two Linear(6, 6) and alpha); yours has {checks.parameter_count(model)}.")
        with torch.no_grad():  # 0.5 hides a swapped formula: compare at another alpha (copied in below)
            reference.alpha.fill_(0.2)
        x = torch.randn(4, 6)
        with torch.no_grad():
            wanted = reference(x)
            out1 = reference.fc1(x)
            swapped = 0.8 * out1 + 0.2 * reference.fc2(out1)

        advice = "WeightedSum(6) returns alpha * fc1(x) + (1 - alpha) * fc2(fc1(x)), 6 features all the way."

        def output():
            return checks.plain(run_block(model, x, "your WeightedSum(6)", advice, no_grad=True).value)

        # fc1 and fc2 share a shape: accept them registered in either order
        checks.copy_weights_until(reference, model, lambda: same(output(), wanted))
        out = output()
        if type(out) is torch.Tensor and same(out, swapped):
            raise Incorrect("alpha multiplies the wrong path: the output is "
                            "alpha * fc1(x) + (1 - alpha) * fc2(fc1(x)).")
        if type(out) is not torch.Tensor or not same(out, wanted):
            raise Incorrect("The output differs from alpha * out1 + (1 - alpha) * out2 with "
                            "out1 = fc1(x) and out2 = fc2(out1).")
        grad = run_block(model, x, "your WeightedSum(6)", advice, backward=torch.ones_like(wanted)).grads.get(alpha.name)
        if type(grad) is not torch.Tensor or float(grad.abs().sum()) == 0.0:
            raise Incorrect("alpha gets no gradient, so training would never move it: use "
                            "self.alpha itself in forward, not self.alpha.item() or float(...).")

    @staticmethod
    def _find_alpha(model):
        scalars = [p for p in model.parameters() if p.value.numel() == 1]
        if scalars:
            return scalars[0]
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


class PlainAttributes:
    """Built next to the student's module: its own attributes that hold a float or a plain
    tensor (what an alpha that is no parameter looks like), as ``[name, "float" | "tensor"]``."""

    def __init__(self, module: nn.Module):
        self.module = module

    def __call__(self) -> list:
        return [[str(name), "float" if isinstance(value, float) else "tensor"]
                for name, value in vars(self.module).items() if isinstance(value, (float, torch.Tensor))]


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


class LostInputDebug(Exercise):
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
    cases = [4, 7]   # channel counts: nothing typed in for the notebook's BrokenPreActBlock(4) passes

    def check_answer(self, answer):
        for channel_count in self.cases:
            self._check_one(checks.instantiate(answer, channel_count), channel_count)

    def _check_one(self, model, channel_count):
        name = f"PreActBlock({channel_count})"
        expect_same_size_padding(model)
        reference = pre_activation_parts(channel_count)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            raise Incorrect(count_mismatch(model, reference, f"{name} should have {expected} parameters (two 3×3 "
                                           f"convolutions, {channel_count} → {channel_count} channels)"))
        x = checks.hidden_input(2, channel_count, 5, 5, seed=channel_count)   # negative values too
        advice = (f"{name} returns x + conv2(relu(conv1(relu(x)))), with {channel_count} channels all the way.")
        run = run_block(model, x, f"your {name}", advice, ops=True)
        if type(run.value) is not torch.Tensor or run.value.shape != x.shape:
            raise Incorrect(f"A residual block keeps the shape of its input, {tuple(x.shape)}; "
                            f"yours returned {shape_or_type(run.value)}.")

        def output():
            return checks.plain(run_block(model, x, f"your {name}", advice, no_grad=True).value)

        with torch.no_grad():
            if checks.copy_weights_until(reference, model, lambda: same(output(), pre_activation(reference, x))):
                if 0 in run.changed:
                    raise Incorrect(f"Your block's output is right, but calling {name} changed the tensor it was "
                                    "given: afterwards `x` has no negative values. A block must leave its input as it "
                                    "was; the caller may still need it.")
                return
            if checks.copy_weights_until(reference, model, lambda: same(output(), pre_activation(reference, x, "branch only"))):
                raise Incorrect("Switch the branch off (the last convolution at zero) and your block returns zeros, "
                                "not x: its output holds only the branch, nothing of the block's input. The sum "
                                "with x is lost on its way to the output.")
            if checks.copy_weights_until(reference, model,
                                         lambda: same(output(), pre_activation(reference, x, "shortcut after relu"))):
                raise Incorrect("Switch the branch off (the last convolution at zero) and your block returns x with "
                                "every negative value set to 0, not x: what reaches the sum is relu(x), not the "
                                "block's input.")
        raise Incorrect("Right layers, different output: the block computes x + conv2(relu(conv1(relu(x)))), a ReLU "
                        "before each convolution and none after the sum.")


q4 = LostInputDebug()


# The references are the solutions' own code, built on first use: this module is public and
# imports where no solution is installed.
_REFERENCES = {"ResidualReference": q1, "WeightedSumReference": q3}


def __getattr__(name):
    if name in _REFERENCES:
        return _REFERENCES[name].solution_object()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
