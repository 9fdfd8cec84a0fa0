"""Exercises of 00_start_here: tensors of a given shape, one linear layer, counting parameters.

The worked example of the exercise engine. ``q0`` is the exercise *Start here* solves in front
of the student (blank RGB images) to show the flow; ``q1`` to ``q3`` are the exercise set,
and ``q1`` asks for what the lesson did not show (grayscale images of any size). Their checks
show each kind of feedback — hidden inputs, the common mistakes named in the student's terms
(channels last, a swapped layer, a forgotten bias, counting tensors instead of numbers).

``q0``, ``q1`` and ``q3`` are ``FunctionOnCases`` (``kinds``): cases, known mistakes and their
messages as data; ``q2`` is a ``ValueAnswer``: one layer, read and compared, never called before it is one.
"""

from typing import NamedTuple

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.kinds import Built, Case, FunctionOnCases, Mistake, ValueAnswer

# What a blank-images function can get wrong, in the order a check says it: first what the result
# is, last its size, type and values; each exercise puts its own layout mistakes in between.
NOT_A_TENSOR = [
    Mistake("{case} returned a NumPy array; build a tensor with `torch.zeros(...)`.",
            when=lambda s: checks.type_module(s.got) == "numpy"),
    Mistake("Expected {case} to be a tensor, got {kind}.", when=lambda s: type(s.got) is not torch.Tensor),
]
SIZE_TYPE = [
    Mistake("{case} returned a batch of {shape[0]} images; use the argument `batch_size` instead of a fixed number.",
            when=lambda s: len(s.shape) == 4 and s.shape[1:] == s.expected_shape[1:] and s.shape[0] != s.args[0]),
    Mistake("{case} has shape {shape}; expected {expected_shape}.", when=lambda s: s.shape != s.expected_shape),
    Mistake("{case} has dtype {dtype}; layers need torch.float32, the default of `torch.zeros`.",
            when=lambda s: s.dtype != torch.float32),
]
NOT_BLANK = "{case} contains values other than zero: the images must be blank."


class BlankImages(FunctionOnCases):
    """A function that returns blank images: compared exactly (shape, dtype, every value zero)."""

    otherwise = NOT_BLANK

    def same(self, got, expected):
        return type(got) is torch.Tensor and got.shape == expected.shape and got.dtype == expected.dtype \
            and checks.equal(got, expected)


class MakeImages(BlankImages):
    """Solved in notebooks/00_start_here to show not attempted, incorrect, a hint and correct."""

    id = "lesson00.q0"
    points = 1
    title = "A batch of blank RGB images"
    why = "PyTorch expects images as (batch, channels, height, width); every conv layer reads that layout."
    hints = [
        "Four dimensions, in PyTorch's order: batch, channels, height, width.",
        "`torch.zeros(batch_size, 3, 32, 32)` — and use the argument, not a fixed number.",
    ]
    function, must_be_function = "make_images", False
    cases = [Case((5,)), Case((1,))]
    mistakes = NOT_A_TENSOR + [
        Mistake("{case} has shape {shape}: that is channels last. PyTorch wants (batch, channels, height, width), "
                "so {expected_shape}.", when=lambda s: s.shape == (s.args[0], 32, 32, 3)),
        Mistake("{case} has shape {shape}: one image, no batch dimension. Put the batch size first: {expected_shape}.",
                when=lambda s: len(s.shape) == 3),
    ] + SIZE_TYPE

    def expected(self, batch_size):
        return torch.zeros(batch_size, 3, 32, 32)


class MakeGrayscale(BlankImages):
    id = "lesson00.q1"
    points = 1
    title = "A batch of blank grayscale images of any size"
    why = ("A grayscale image still has a channel dimension, of size 1: every conv layer reads "
           "(batch, channels, height, width), whatever the number of channels.")
    hints = [
        "Same layout as the RGB images of *Start here*: (batch, channels, height, width). How many "
        "channels does a grayscale image have?",
        "`torch.zeros(batch_size, 1, height, width)`: one channel, then the height, then the width.",
    ]
    function = "make_grayscale"
    cases = [Case((5, 28, 20)), Case((1, 7, 9)), Case((2, 32, 32))]
    mistakes = NOT_A_TENSOR + [   # args: batch_size, height, width
        Mistake("{case} returned the RGB 32×32 images of *Start here*; this exercise asks for grayscale images of "
                "the given height and width: {expected_shape}.",
                when=lambda s: s.shape == (s.args[0], 3, 32, 32) != s.expected_shape),
        Mistake("{case} has shape {shape}: no channel dimension. A grayscale image has one channel, and it still "
                "gets its own dimension: {expected_shape}.", when=lambda s: s.shape == s.args),
        Mistake("{case} has shape {shape}: that is channels last. PyTorch wants (batch, channels, height, width), "
                "so {expected_shape}.", when=lambda s: s.shape == (*s.args, 1)),
        Mistake("{case} has shape {shape}: height and width are swapped. The height (number of rows) comes first: "
                "{expected_shape}.", when=lambda s: s.shape == (s.args[0], 1, s.args[2], s.args[1]) != s.expected_shape),
        Mistake("{case} has {shape[1]} channels; a grayscale image has exactly one: {expected_shape}.",
                when=lambda s: len(s.shape) == 4 and (s.shape[0], *s.shape[2:]) == s.args and s.shape[1] != 1),
    ] + SIZE_TYPE

    def expected(self, batch_size, height, width):
        return torch.zeros(batch_size, 1, height, width)


class LayerRead(NamedTuple):
    """What lesson00.q2 reads of a Linear layer: its sizes, whether it has a bias, its weights' dtype."""

    in_features: int
    out_features: int
    bias: bool
    dtype: torch.dtype


class LinearLayer(ValueAnswer):
    id = "lesson00.q2"
    points = 1
    title = "One linear layer, 20 features in, 7 out"
    why = "`nn.Linear(in_features, out_features)` holds a 7×20 weight and 7 biases: 147 numbers to learn."
    hints = [
        "`nn.Linear` takes the number of input features first, then the number of output features.",
        "`layer = nn.Linear(20, 7)`.",
    ]
    refuse = [
        Mistake("That is the class `nn.Linear`; create a layer from it: `nn.Linear(20, 7)`.",
                when=lambda s: s.answer.kind == "class" and s.answer.is_class("Linear") and s.answer.name == "Linear"),
        Mistake(lambda s: f"Expected a layer made by `nn.Linear(...)`, got {_describe(s.answer)}.",
                when=lambda s: not s.answer.is_module("Linear")),
        Mistake("`nn.LazyLinear(7)` leaves the input size open until its first call; this exercise fixes it: "
                "`nn.Linear(20, 7)`.", when=lambda s: s.answer.is_module("LazyLinear")),
    ]
    mistakes = [
        Mistake("Your layer maps 7 features to 20: the arguments are swapped. `nn.Linear(in_features, out_features)`.",
                when=lambda s: s.got[:2] == (7, 20)),
        Mistake("Your layer maps {got.in_features} features to {got.out_features}; expected 20 to 7.",
                when=lambda s: s.got[:2] != (20, 7)),
        Mistake("Your layer has no bias (`bias=False`); this exercise keeps the default bias.",
                when=lambda s: not s.got.bias),
    ]
    otherwise = "Your layer's weights are {got.dtype}; keep the default torch.float32."

    def reference_answer(self):
        namespace = {"nn": nn, "torch": torch}
        exec(self.solution_code, namespace)   # the solution binds a value, not a class or function
        return namespace["layer"]

    def expected(self):
        return LayerRead(20, 7, True, torch.float32)

    def reads(self, seen):
        settings = seen.answer.tree()[0].settings
        parameters = {p.name: p.value for p in seen.answer.parameters()}
        return LayerRead(settings.get("in_features"), settings.get("out_features"), "bias" in parameters,
                         parameters["weight"].dtype)

    def matched(self, seen):
        output = checks.call(seen.answer, checks.hidden_input(5, 20), what="your layer")
        checks.expect_shape(output, (5, 7), "the output for a batch of 5")


def _describe(value):
    if value.kind == "module":
        return f"a `{value.type_name}` module"
    return checks.kind_of(value)


HIDDEN_MODELS = ("nn.Linear(20, 7)", "nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))",
                 "a model whose first layer is frozen", "nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))",
                 "a model that uses one nn.Linear(5, 5) twice")


def hidden_model(index: int) -> nn.Module:
    """Small models where the common wrong counts differ from the right one (built on both
    sides of a probe: the check counts its own copy, the student's function the other)."""
    if index == 0:
        return nn.Linear(20, 7)
    if index == 1:
        return nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 5))
    if index == 2:
        frozen = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
        frozen[0].requires_grad_(False)
        return frozen
    if index == 3:
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    shared = nn.Sequential(nn.Linear(5, 5), nn.ReLU())
    shared.append(shared[0])  # the same layer used twice
    return shared


def _miscounted(count):
    """A known wrong total: ``count(model)`` is what the mistake counts (when it is not the total)."""
    return lambda s: s.got[0] != s.expected[0] and s.got[0] == count(s.args[0])


def _per_use(model):
    return sum(p.numel() for m in model.modules(remove_duplicate=False) for p in m.parameters(recurse=False))


COUNTED = "For {label} you counted {got[0]:,}; it has {expected[0]:,} parameters."
TRAINABLE = ("For {label} you counted {got[1]:,} trainable parameters; {expected[1]:,} of its {expected[0]:,} have "
             "`requires_grad=True`. ")


class CountParameters(FunctionOnCases):
    id = "lesson00.q3"
    points = 2
    title = "Count a model's parameters: all of them, and the trainable ones"
    why = ("The parameter count is the first sanity check of any model you build: it catches missing layers; "
           "the trainable count tells you what an optimizer will actually change.")
    hints = [
        "`model.parameters()` yields tensors; each tensor's `numel()` is how many numbers it holds, and its "
        "`requires_grad` says whether training changes it (False for a frozen layer).",
        "`total = sum(p.numel() for p in model.parameters())`, the same sum over the parameters with "
        "`p.requires_grad` for `trainable`, then `return total, trainable`.",
    ]
    function = "count_parameters"
    cases = [Case((Built(hidden_model, index),), label=label) for index, label in enumerate(HIDDEN_MODELS)]
    refuse = [
        Mistake("For {label} `count_parameters` returned one number, {got:,}; return two, `(total, trainable)`.",
                when=lambda s: type(s.got) is int),
        Mistake("`count_parameters` returned {kind}; return two ints, `(total, trainable)`.",
                when=lambda s: type(s.got) not in (tuple, list) or len(s.got) != 2),
    ]
    mistakes = [
        Mistake("For {label} you returned ({got[0]:,}, {got[1]:,}): the two numbers are swapped; return "
                "`(total, trainable)`.", when=lambda s: s.got == s.expected[::-1] and s.got[0] != s.got[1]),
        Mistake(COUNTED + " {got[0]} is the number of parameter tensors; count the numbers in each with `p.numel()`.",
                when=_miscounted(lambda m: len(list(m.parameters())))),
        Mistake(COUNTED + " You counted only trainable parameters; frozen ones (`requires_grad=False`) count too.",
                when=_miscounted(lambda m: sum(p.numel() for p in m.parameters() if p.requires_grad))),
        Mistake(COUNTED + " You counted the shared layer once for each time it is used; its weights exist once, "
                "and `model.parameters()` lists each parameter once.",
                when=lambda s: not list(s.args[0].buffers()) and _miscounted(_per_use)(s)),
        Mistake(COUNTED + " The biases are parameters too: count every tensor in `model.parameters()`.",
                when=_miscounted(lambda m: sum(p.numel() for n, p in m.named_parameters() if not n.endswith("bias")))),
        Mistake(COUNTED + " `state_dict()` also holds buffers (BatchNorm's running statistics) and lists a shared "
                "layer under each of its names; count `model.parameters()` instead.",
                when=_miscounted(lambda m: sum(v.numel() for v in m.state_dict().values()))),
        Mistake(COUNTED, when=lambda s: s.got[0] != s.expected[0]),
        Mistake(TRAINABLE + "A frozen layer's parameters are not trainable: count only those with `p.requires_grad`.",
                when=lambda s: s.got[1] == s.expected[0]),
    ]
    otherwise = TRAINABLE

    def returns(self, got, seen):
        return (checks.expect_int(got[0], "`count_parameters` (the total)"),
                checks.expect_int(got[1], "`count_parameters` (the trainable count)"))

    def expected(self, model):
        return (sum(p.numel() for p in model.parameters()),
                sum(p.numel() for p in model.parameters() if p.requires_grad))


q0 = MakeImages()
q1 = MakeGrayscale()
q2 = LinearLayer()
q3 = CountParameters()
