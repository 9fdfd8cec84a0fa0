"""Exercises of 00_start_here: tensors of a given shape, one linear layer, counting parameters.

The worked example of the exercise engine. ``q0`` is the exercise *Start here* solves in front
of the student (blank RGB images) to show the flow; ``q1`` to ``q3`` are the exercise set,
and ``q1`` asks for what the lesson did not show (grayscale images of any size). Their checks
show each kind of feedback — hidden inputs, the common mistakes named in the student's terms
(channels last, a swapped layer, a forgotten bias, counting tensors instead of numbers).
"""

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect


class MakeImages(Exercise):
    """Solved in notebooks/00_start_here to show not attempted, incorrect, a hint and correct."""

    id = "lesson00.q0"
    points = 1
    title = "A batch of blank RGB images"
    why = "PyTorch expects images as (batch, channels, height, width); every conv layer reads that layout."
    hints = [
        "Four dimensions, in PyTorch's order: batch, channels, height, width.",
        "`torch.zeros(batch_size, 3, 32, 32)` — and use the argument, not a fixed number.",
    ]

    def check_answer(self, answer):
        for batch_size in (5, 1):
            images = checks.call(answer, batch_size, what="`make_images`")
            self._check_images(images, batch_size)

    @staticmethod
    def _check_images(images, batch_size):
        call = f"`make_images({batch_size})`"
        if checks.type_module(images) == "numpy":
            raise Incorrect(f"{call} returned a NumPy array; build a tensor with `torch.zeros(...)`.")
        images = checks.expect_tensor(images, call)
        shape = tuple(images.shape)
        expected = (batch_size, 3, 32, 32)
        if shape == (batch_size, 32, 32, 3):
            raise Incorrect(f"{call} has shape {shape}: that is channels last. PyTorch wants "
                            f"(batch, channels, height, width), so {expected}.")
        if len(shape) == 3:
            raise Incorrect(f"{call} has shape {shape}: one image, no batch dimension. "
                            f"Put the batch size first: {expected}.")
        if len(shape) == 4 and shape[1:] == expected[1:] and shape[0] != batch_size:
            raise Incorrect(f"{call} returned a batch of {shape[0]} images; use the argument "
                            f"`batch_size` instead of a fixed number.")
        checks.expect_shape(images, expected, call)
        if images.dtype != torch.float32:
            raise Incorrect(f"{call} has dtype {images.dtype}; layers need torch.float32, "
                            f"the default of `torch.zeros`.")
        if images.count_nonzero().item():
            raise Incorrect(f"{call} contains values other than zero: the images must be blank.")


class MakeGrayscale(Exercise):
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

    def check_answer(self, answer):
        checks.expect_function(answer, "make_grayscale")
        for batch_size, height, width in ((5, 28, 20), (1, 7, 9), (2, 32, 32)):
            images = checks.call(answer, batch_size, height, width, what="`make_grayscale`")
            self._check_images(images, batch_size, height, width)

    @staticmethod
    def _check_images(images, batch_size, height, width):
        call = f"`make_grayscale({batch_size}, {height}, {width})`"
        if checks.type_module(images) == "numpy":
            raise Incorrect(f"{call} returned a NumPy array; build a tensor with `torch.zeros(...)`.")
        images = checks.expect_tensor(images, call)
        shape, expected = tuple(images.shape), (batch_size, 1, height, width)
        if shape == (batch_size, 3, 32, 32) and expected != shape:
            raise Incorrect(f"{call} returned the RGB 32×32 images of *Start here*; this exercise asks for "
                            f"grayscale images of the given height and width: {expected}.")
        if shape == (batch_size, height, width):
            raise Incorrect(f"{call} has shape {shape}: no channel dimension. A grayscale image has one channel, "
                            f"and it still gets its own dimension: {expected}.")
        if shape == (batch_size, height, width, 1):
            raise Incorrect(f"{call} has shape {shape}: that is channels last. PyTorch wants "
                            f"(batch, channels, height, width), so {expected}.")
        if shape == (batch_size, 1, width, height) and height != width:
            raise Incorrect(f"{call} has shape {shape}: height and width are swapped. The height (number of "
                            f"rows) comes first: {expected}.")
        if len(shape) == 4 and shape[0] == batch_size and shape[2:] == (height, width) and shape[1] != 1:
            raise Incorrect(f"{call} has {shape[1]} channels; a grayscale image has exactly one: {expected}.")
        if len(shape) == 4 and shape[1:] == expected[1:] and shape[0] != batch_size:
            raise Incorrect(f"{call} returned a batch of {shape[0]} images; use the argument "
                            f"`batch_size` instead of a fixed number.")
        checks.expect_shape(images, expected, call)
        if images.dtype != torch.float32:
            raise Incorrect(f"{call} has dtype {images.dtype}; layers need torch.float32, "
                            f"the default of `torch.zeros`.")
        if images.count_nonzero().item():
            raise Incorrect(f"{call} contains values other than zero: the images must be blank.")


class LinearLayer(Exercise):
    id = "lesson00.q2"
    points = 1
    title = "One linear layer, 20 features in, 7 out"
    why = "`nn.Linear(in_features, out_features)` holds a 7×20 weight and 7 biases: 147 numbers to learn."
    hints = [
        "`nn.Linear` takes the number of input features first, then the number of output features.",
        "`layer = nn.Linear(20, 7)`.",
    ]

    def reference_answer(self):
        namespace = {"nn": nn, "torch": torch}
        exec(self.solution_code, namespace)   # the solution binds a value, not a class or function
        return namespace["layer"]

    def check_answer(self, answer):
        if answer.kind == "class" and answer.is_class("Linear") and answer.name == "Linear":
            raise Incorrect("That is the class `nn.Linear`; create a layer from it: `nn.Linear(20, 7)`.")
        if not answer.is_module("Linear"):
            raise Incorrect(f"Expected a layer made by `nn.Linear(...)`, got {_describe(answer)}.")
        if answer.is_module("LazyLinear"):
            raise Incorrect("`nn.LazyLinear(7)` leaves the input size open until its first call; this "
                            "exercise fixes it: `nn.Linear(20, 7)`.")
        layer = answer.tree()[0]
        sizes = (layer.settings.get("in_features"), layer.settings.get("out_features"))
        if sizes == (7, 20):
            raise Incorrect("Your layer maps 7 features to 20: the arguments are swapped. "
                            "`nn.Linear(in_features, out_features)`.")
        if sizes != (20, 7):
            raise Incorrect(f"Your layer maps {sizes[0]} features to {sizes[1]}; expected 20 to 7.")
        parameters = {p.name: p.value for p in answer.parameters()}
        if "bias" not in parameters:
            raise Incorrect("Your layer has no bias (`bias=False`); this exercise keeps the default bias.")
        if parameters["weight"].dtype != torch.float32:
            raise Incorrect(f"Your layer's weights are {parameters['weight'].dtype}; keep the default torch.float32.")
        output = checks.call(answer, checks.hidden_input(5, 20), what="your layer")
        checks.expect_shape(output, (5, 7), "the output for a batch of 5")


def _describe(value):
    if value.kind == "module":
        return f"a `{value.type_name}` module"
    return checks.kind_of(value)


class CountParameters(Exercise):
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

    def check_answer(self, answer):
        checks.expect_function(answer, "count_parameters")
        for index, description in enumerate(HIDDEN_MODELS):
            model = hidden_model(index)
            total = sum(p.numel() for p in model.parameters())
            trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
            given = answer.session.build(hidden_model, index)
            result = checks.call(answer, given, what="`count_parameters`")
            if type(result) is int:
                raise Incorrect(f"For {description} `count_parameters` returned one number, {result:,}; return two, "
                                "`(total, trainable)`.")
            if type(result) not in (tuple, list) or len(result) != 2:
                raise Incorrect(f"`count_parameters` returned {checks.kind_of(result)}; return two ints, "
                                "`(total, trainable)`.")
            got_total = checks.expect_int(result[0], "`count_parameters` (the total)")
            got_trainable = checks.expect_int(result[1], "`count_parameters` (the trainable count)")
            if (got_total, got_trainable) == (trainable, total) and total != trainable:
                raise Incorrect(f"For {description} you returned ({got_total:,}, {got_trainable:,}): the two "
                                "numbers are swapped; return `(total, trainable)`.")
            if got_total != total:
                raise Incorrect(_diagnose(description, model, got_total, total))
            if got_trainable != trainable:
                raise Incorrect(f"For {description} you counted {got_trainable:,} trainable parameters; "
                                f"{trainable:,} of its {total:,} have `requires_grad=True`. "
                                + ("A frozen layer's parameters are not trainable: count only those with "
                                   "`p.requires_grad`." if got_trainable == total else ""))


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


def _diagnose(description, model, result, expected):
    said = f"For {description} you counted {result:,}; it has {expected:,} parameters."
    if result == len(list(model.parameters())):
        return f"{said} {result} is the number of parameter tensors; count the numbers in each with `p.numel()`."
    if result == sum(p.numel() for p in model.parameters() if p.requires_grad):
        return f"{said} You counted only trainable parameters; frozen ones (`requires_grad=False`) count too."
    duplicated = sum(p.numel() for m in model.modules(remove_duplicate=False) for p in m.parameters(recurse=False))
    if result == duplicated and not list(model.buffers()):
        return (f"{said} You counted the shared layer once for each time it is used; its weights exist once, "
                f"and `model.parameters()` lists each parameter once.")
    if result == sum(p.numel() for name, p in model.named_parameters() if not name.endswith("bias")):
        return f"{said} The biases are parameters too: count every tensor in `model.parameters()`."
    if result == sum(v.numel() for v in model.state_dict().values()):
        return (f"{said} `state_dict()` also holds buffers (BatchNorm's running statistics) and lists a shared "
                f"layer under each of its names; count `model.parameters()` instead.")
    return said


q0 = MakeImages()
q1 = MakeGrayscale()
q2 = LinearLayer()
q3 = CountParameters()
