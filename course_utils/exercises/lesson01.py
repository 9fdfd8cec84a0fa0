"""Exercises of lesson 01 (layers): a linear layer by hand (with or without bias, any leading
dimensions), the conv output size, a conv layer's parameter count from its settings, and images
brought into Conv2d's layout.

Each check runs the student's function on hidden inputs and compares with what PyTorch does;
when the numbers differ it tries the common mistakes (a weight not transposed, a missing bias,
padding on one side only, counting tensors instead of numbers...) and names the one it sees.
"""

import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises import checks
from course_utils.exercises.checks import expect_function, plain
from course_utils.exercises.checks import close as same
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.probes.client import ProbeFault


generator = checks.generator


class Differentiated:
    """Built on the answer's side (``session.build``): calls a function on copies of its tensor
    arguments that require grad, and reports the autograd operations behind the result and the
    gradient of the result's sum with respect to each argument (None where none arrives).

    Why: a probe's tensors arrive without autograd, so "which operation made this" and "does the
    gradient reach the weight I gave you" need the arguments made differentiable on that side."""

    def __init__(self, function):
        self.function = function

    def __call__(self, *tensors):
        leaves = [t.detach().clone().requires_grad_() if isinstance(t, torch.Tensor) else t for t in tensors]
        result = self.function(*leaves)
        if not isinstance(result, torch.Tensor) or result.grad_fn is None:
            return {"ops": [], "grads": [None] * len(leaves)}
        ops = sorted(checks.autograd_ops(result))
        result.sum().backward()
        return {"ops": ops, "grads": [leaf.grad if isinstance(leaf, torch.Tensor) else None for leaf in leaves]}


def differentiated(function, *tensors) -> dict:
    """``Differentiated(function)(*tensors)`` on the answer's side: {"ops": [...], "grads": [...]}."""
    reply = function.session.build(Differentiated, function)(*tensors)
    if type(reply) is not dict or type(reply.get("ops")) is not list or type(reply.get("grads")) is not list \
            or len(reply["grads"]) != len(tensors):
        raise ProbeFault("malformed reply when following the gradient")
    return reply


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


# --- q1 ---------------------------------------------------------------------------------

class LinearByHand(Exercise):
    id = "lesson01.q1"
    points = 2
    title = "Compute nn.Linear by hand, with or without a bias, for any leading dimensions"
    why = ("`nn.Linear` is no mystery: one matrix product with the transposed weight, plus a bias when the "
           "layer has one, over the last dimension. Every shape error with a Linear layer is about the two "
           "inner sizes of that product.")
    hints = [
        "The weight is stored as (out_features, in_features), one row per output, so the product is "
        "`x @ weight.T`; `@` works on the last two dimensions, whatever comes before. A layer built with "
        "`bias=False` has `bias = None`: there is nothing to add.",
        "`y = x @ weight.T`, then `if bias is not None: y = y + bias`, then `return y`.",
    ]

    def check_answer(self, linear_by_hand):
        expect_function(linear_by_hand, "linear_by_hand")
        g = generator(11)
        # square weight first: the classic mistakes then run and can be recognised by their values
        x, weight, bias = torch.randn(4, 3, generator=g), torch.randn(3, 3, generator=g), torch.randn(3, generator=g)
        self._compare(linear_by_hand, x, weight, bias)
        for shape, n_out, with_bias in [((5, 3), 2, True), ((1, 10), 20, True), ((4, 6), 2, False),
                                        ((2, 5, 3), 4, True), ((3, 2, 4), 5, False)]:
            x = torch.randn(*shape, generator=g)
            weight = torch.randn(n_out, shape[-1], generator=g)
            bias = torch.randn(n_out, generator=g) if with_bias else None
            self._compare(linear_by_hand, x, weight, bias)
        x, weight, bias = torch.randn(2, 5, 3, generator=g), torch.randn(4, 3, generator=g), torch.randn(4, generator=g)
        self._expect_gradients(linear_by_hand, x, weight, bias)

    @staticmethod
    def _compare(linear_by_hand, x, weight, bias):
        expected = F.linear(x, weight, bias)
        shape = f"x {tuple(x.shape)}, weight {tuple(weight.shape)}" + ("" if bias is not None else ", bias None")
        try:
            run = linear_by_hand.run(x.clone(), weight.clone(), None if bias is None else bias.clone())
        except TypeError as error:
            if bias is None and "NoneType" in str(error):
                raise checks.mistake_in_your_code(
                    error, f"For {shape} (a layer built with `bias=False`) your function adds `None`: "
                           "add the bias only when there is one (`if bias is not None`).") from None
            raise checks.mistake_in_your_code(
                error, f"For {shape} your function fails ({first_line(error)}). The layer computes "
                       "`x @ weight.T + bias` from tensors alone.") from None
        except RuntimeError as error:
            if isinstance(error, NotImplementedError):   # a stub: not attempted
                raise
            raise checks.mistake_in_your_code(error, LinearByHand._explain_failure(error, x, shape)) from None
        got = plain(run.value)
        if got is None:
            raise Incorrect("`linear_by_hand` returned None: end it with `return ...`.")
        if type(got) is not torch.Tensor:
            raise Incorrect(f"`linear_by_hand` returned {checks.type_name(got)}; return the tensor `x @ weight.T + bias`.")
        if run.changed:
            names = ", ".join(("`x`", "`weight`", "`bias`")[i] for i in run.changed)
            raise Incorrect(f"For {shape} your function changed the caller's {names} in place (an operation "
                            "ending in `_`, or an assignment into it): a layer never changes its input or its "
                            "weights when it runs. Compute a new tensor.")
        if same(got, expected):
            if run.connected:
                raise Incorrect(OWN_LAYER)
            return
        if got.shape != expected.shape:
            if x.dim() == 2 and got.shape == expected.T.shape:
                raise Incorrect(f"For {shape} your result has shape {tuple(got.shape)}, one column per sample; "
                                f"expected {tuple(expected.shape)}, one row per sample. Compute `x @ weight.T`, "
                                "not `weight @ x.T`.")
            raise Incorrect(f"For {shape} your result has shape {tuple(got.shape)}; expected "
                            f"{tuple(expected.shape)}: the leading dimensions of x, then out_features.")
        plain_bias = 0 if bias is None else bias
        if same(got, x @ weight + plain_bias):
            raise Incorrect("You multiplied by `weight` itself. It is stored as (out_features, in_features), "
                            "so the layer computes `x @ weight.T`: with a square weight both run, but only the "
                            "transpose gives the layer's result.")
        if bias is not None and same(got, x @ weight.T):
            raise Incorrect("The bias is missing: the layer adds `bias` to every row, `x @ weight.T + bias`.")
        if not same(plain(linear_by_hand(x.clone(), weight.clone(), bias)), got):
            raise Incorrect("Called twice on the same tensors, your function gives two different results: "
                            "it seems to create a new layer with random weights. Use the `weight` and `bias` "
                            "you are given.")
        if same(plain(linear_by_hand(x, 2 * weight, None if bias is None else 2 * bias)), got):
            raise Incorrect("Your result does not change when `weight` and `bias` change: use the tensors "
                            "you are given instead of creating a new layer.")
        worst = (got - expected).abs().max().item()
        raise Incorrect(f"For {shape} your result differs from `nn.Linear`'s (largest difference {worst:.4g}). "
                        "The layer computes `x @ weight.T + bias`.")

    @staticmethod
    def _explain_failure(error, x, shape) -> str:
        """What a RuntimeError of PyTorch means for this exercise."""
        said = first_line(error)
        if x.dim() > 2:   # the 2-D cases ran before: this one fails only for its extra dimension
            return (f"For {shape} your function fails ({said}): it works on 2-D inputs only. `nn.Linear` acts "
                    "on the last dimension, whatever comes before it; `x @ weight.T` does too.")
        if "cannot be multiplied" in said or "size mismatch" in said:
            return (f"For {shape} your function fails ({said}): the two inner sizes of a matrix product must "
                    "agree. x ends with in_features and weight is (out_features, in_features), so the product "
                    "is `x @ weight.T`.")
        if "must match the size of tensor" in said:
            return (f"For {shape} your function fails ({said}): two tensors combined element by element have "
                    "shapes that do not broadcast. The bias has one value per output feature, shape "
                    "(out_features,): added to `x @ weight.T`, whose last dimension is out_features, it is "
                    "added to every row as it is.")
        return (f"For {shape} your function fails ({said}). The layer computes `x @ weight.T + bias`, "
                "with the tensors as they are given.")

    @staticmethod
    def _expect_gradients(linear_by_hand, x, weight, bias):
        """Training sends a gradient back to the weight and the bias through the layer: it must arrive."""
        try:
            grads = differentiated(linear_by_hand, x, weight, bias)["grads"]
        except RuntimeError as error:
            if isinstance(error, NotImplementedError):
                raise
            shape = f"x {tuple(x.shape)}, weight {tuple(weight.shape)}"
            if "in-place" in str(error) or "inplace" in str(error):
                raise checks.mistake_in_your_code(
                    error, f"For {shape}, with tensors that require grad (as a layer's weights do), your "
                           f"function fails ({first_line(error)}): it changes a tensor it is given in place. "
                           "Compute a new tensor instead.") from None
            raise checks.mistake_in_your_code(
                error, f"For {shape}, with tensors that require grad (as a layer's weights do), your function "
                       f"fails ({first_line(error)}).") from None
        leaves = [x, weight, bias]
        for leaf in leaves:
            leaf.requires_grad_()
        F.linear(*leaves).sum().backward()
        lost = [name for name, leaf, grad in zip(("x", "weight", "bias"), leaves, grads)
                if not (type(grad) is torch.Tensor and same(grad, leaf.grad))]
        if lost:
            names = " and ".join(f"`{name}`" for name in lost)
            raise Incorrect(f"Your function returns the layer's numbers, but the gradient does not reach {names} "
                            "as it would through `nn.Linear`: the result is not computed from the tensors you are "
                            "given (copied into a layer of your own, detached, or computed under "
                            "`torch.no_grad()`). Compute it from `x`, `weight` and `bias` themselves, with tensor "
                            "operations.")


OWN_LAYER = ("Your function returns the layer's numbers from a layer of its own: its result carries parameters "
             "that are not the `weight` and `bias` you were given (an `nn.Linear` with the given values copied "
             "in?), so training would change that layer and never the weights you passed. The exercise is the "
             "layer's computation by hand: `x @ weight.T + bias`, with tensor operations only, no `nn.Linear`.")


# --- q2 ---------------------------------------------------------------------------------

def reference_size(size, kernel_size, stride=1, padding=0, dilation=1) -> int:
    """Measured, not computed: run a real convolution and read the output width."""
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False)
    with torch.no_grad():
        return conv(torch.zeros(1, 1, size, size)).shape[-1]


class ConvOutputSize(Exercise):
    id = "lesson01.q2"
    points = 2
    title = "The output size of nn.Conv2d"
    why = ("With the formula you can plan a network's shapes on paper, before a single "
           "`mat1 and mat2 shapes cannot be multiplied` error.")
    hints = [
        "Padding adds `padding` pixels on *both* sides; a dilated kernel covers `dilation * (kernel_size - 1) + 1` "
        "pixels; the stride divides the number of extra positions, rounding down.",
        "`(size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1` — the `//` rounds down and "
        "keeps the result an int.",
    ]

    # (arguments, what to say when only this case is wrong); each case isolates one ingredient
    CASES = [
        ((32, 3), "Without padding, stride or dilation a 3×3 kernel fits in size − 3 + 1 positions: "
                  "don't forget the `+ 1`."),
        ((32, 3, 1, 1), "Padding is added on both sides of the image: it contributes `2 * padding`."),
        ((31, 3, 2, 0), "The stride divides the number of positions the kernel can move: "
                        "`(...) // stride + 1`."),
        ((10, 3, 3, 0), "When the stride does not divide evenly, PyTorch rounds down: use `//` "
                        "(floor division), not rounding up."),
        ((32, 3, 1, 0, 2), "A dilation of d spreads the kernel out: it covers `dilation * (kernel_size - 1) + 1` "
                           "pixels."),
    ]

    def check_answer(self, conv_output_size):
        expect_function(conv_output_size, "conv_output_size")
        for args, advice in self.CASES:
            self._compare(conv_output_size, args, advice)
        for size in (5, 8, 17, 28):
            for kernel_size, stride, padding, dilation in [(1, 1, 0, 1), (3, 2, 1, 1), (5, 3, 2, 1), (2, 2, 0, 2)]:
                self._compare(conv_output_size, (size, kernel_size, stride, padding, dilation),
                              "Compare your formula with the one in lesson 01, section 4.")

    @staticmethod
    def _compare(conv_output_size, args, advice):
        names = ("size", "kernel_size", "stride", "padding", "dilation")
        call = ", ".join(f"{n}={v}" for n, v in zip(names, args))
        try:
            got = plain(checks.call(conv_output_size, *args, what="`conv_output_size`"))
        except RuntimeError as error:
            if isinstance(error, NotImplementedError):
                raise
            raise checks.mistake_in_your_code(
                error, f"`conv_output_size({call})` fails inside PyTorch ({first_line(error)}): these settings "
                       "are valid for an `nn.Conv2d` on a (1, 1, size, size) input. Compute the size with the "
                       "formula from the arguments alone (or, to measure it, run a convolution with exactly these "
                       "settings on such an input).") from None
        expected = reference_size(*args)
        if type(got) is not int:
            kind = "None" if got is None else f"{got!r} ({checks.type_name(got)})"
            raise Incorrect(f"`conv_output_size({call})` returned {kind}; return a whole number (an int). "
                            "Floor division `//` keeps it an int and rounds down as PyTorch does.")
        if got != expected:
            raise Incorrect(f"`conv_output_size({call})` returned {got}; an `nn.Conv2d` with these settings "
                            f"produces {expected}. {advice}")


# --- q3 ---------------------------------------------------------------------------------

class ConvParameterCount(Exercise):
    id = "lesson01.q3"
    points = 2
    title = "How many parameters does an nn.Conv2d have? From its settings alone"
    why = ("A convolution holds one kernel of shape (in_channels, kernel height, kernel width) per output "
           "channel, plus one bias each; the image size does not enter. That is how you budget a network "
           "before building it.")
    hints = [
        "The weight has shape (out_channels, in_channels, kernel height, kernel width); the bias one value "
        "per output channel. An int `kernel_size` k means a k × k kernel; a tuple gives (height, width).",
        "`kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size`, then "
        "`out_channels * in_channels * kh * kw`, plus `out_channels` if `bias`.",
    ]

    # (arguments, what to say when only this case is wrong); each case isolates one ingredient
    CASES = [
        ((3, 16, 5), "The weight holds `out_channels × in_channels × k × k` numbers, and each output channel has a bias."),
        ((1, 8, 5), "Each output channel has one kernel per input channel, k × k values each."),
        ((4, 6, 3, False), "With `bias=False` there are no biases: only the weight is left."),
        ((2, 5, (3, 1)), "A tuple `kernel_size=(kh, kw)` is a kh × kw kernel: multiply both, not one of them squared."),
        ((6, 2, (1, 4), False), "A tuple `kernel_size=(kh, kw)` is a kh × kw kernel, and `bias=False` drops the biases."),
        ((16, 16, 1), "A 1 × 1 convolution still holds `out_channels × in_channels` weights plus the biases."),
    ]

    def check_answer(self, conv2d_parameters):
        expect_function(conv2d_parameters, "conv2d_parameters")
        for args, advice in self.CASES:
            got = checks.expect_int(self._call(conv2d_parameters, args), "`conv2d_parameters`")
            in_channels, out_channels, kernel_size, *rest = args
            bias = rest[0] if rest else True
            conv = nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)
            expected = sum(p.numel() for p in conv.parameters())
            if got != expected:
                shown = ", ".join(map(repr, args))
                raise Incorrect(f"`conv2d_parameters({shown})` returned {got:,}; `{conv}` has {expected:,} parameters "
                                f"(weight {tuple(conv.weight.shape)}{', bias ' + str(tuple(conv.bias.shape)) if bias else ''})."
                                f" {self._diagnose(got, conv, advice)}")

    @staticmethod
    def _call(conv2d_parameters, args):
        """Call the answer; what a tuple kernel or PyTorch raises becomes the course's message."""
        shown = ", ".join(map(repr, args))
        try:
            return checks.call(conv2d_parameters, *args, what="`conv2d_parameters`")
        except TypeError as error:
            if not isinstance(args[2], tuple):
                raise
            raise checks.mistake_in_your_code(
                error, f"`conv2d_parameters({shown})` fails ({first_line(error)}): `kernel_size` is a tuple "
                       f"(height, width) here, {args[2]!r}, not a number. Read its two sides before multiplying "
                       "(an int k means k × k).") from None
        except RuntimeError as error:
            if isinstance(error, NotImplementedError):
                raise
            raise checks.mistake_in_your_code(
                error, f"`conv2d_parameters({shown})` fails inside PyTorch ({first_line(error)}): these settings "
                       "make a valid `nn.Conv2d`. Count from the weight's shape, (out_channels, in_channels, "
                       "kernel height, kernel width), and the bias's, (out_channels,).") from None

    @staticmethod
    def _diagnose(got, conv, advice):
        weights = conv.weight.numel()
        if conv.bias is not None and got == weights:
            return "The biases are missing: one per output channel."
        if conv.bias is not None and got == weights + conv.in_channels:
            return "There is one bias per *output* channel, not per input channel."
        if got == 2:
            return "That is the number of parameter tensors (weight and bias); count the numbers inside them."
        biases = conv.out_channels if conv.bias is not None else 0
        if got == weights // conv.in_channels + biases and conv.in_channels > 1:
            return ("Each output channel has one kernel per input channel, so the weight also multiplies by "
                    "`in_channels`.")
        return advice


# --- q4 ---------------------------------------------------------------------------------

class ConvLayout(Exercise):
    id = "lesson01.q4"
    points = 2
    title = "Bring images from an image library into Conv2d's layout"
    why = ("Conv2d reads (N, C, H, W). Knowing which dimension means what — and that moving one is not "
           "reshaping — is how you fix most shape errors in one line.")
    hints = [
        "Channels-last (N, H, W, C) needs its dimensions *reordered*, not reshaped: `reshape` keeps the "
        "order of the numbers in memory and so mixes pixels and colours. `tensor.permute(...)` takes the old "
        "positions in their new order. Grayscale (N, H, W) only lacks its channel dimension.",
        "`images.unsqueeze(1)` when `images.dim() == 3`, else `images.permute(0, 3, 1, 2)`.",
    ]

    CASES = [((2, 5, 4, 3), "RGB, channels last"), ((3, 6, 5), "grayscale, no channel dimension"),
             ((1, 4, 7, 3), "one RGB image, channels last"), ((4, 3, 2, 2), "two channels, channels last"),
             ((1, 4, 7), "one grayscale image")]

    def check_answer(self, to_conv_layout):
        expect_function(to_conv_layout, "to_conv_layout")
        g = generator(5)
        for shape, label in self.CASES:
            images = torch.randn(*shape, generator=g)
            expected = images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)
            try:
                run = to_conv_layout.run(images.clone())
                got = run.value
            except RuntimeError as error:
                if isinstance(error, NotImplementedError):
                    raise
                raise checks.mistake_in_your_code(error, self._explain_failure(error, images, label)) from None
            if type(got) is not torch.Tensor:
                raise Incorrect(f"`to_conv_layout` returned {checks.kind_of(got)}; return a tensor.")
            if run.changed:
                raise Incorrect(f"Your function changed the caller's tensor in place ({label}): return a new view "
                                "(`unsqueeze`, `permute`), not `unsqueeze_` or an assignment into `images`.")
            call = f"For {label}, shape {shape},"
            if got.shape != expected.shape:
                raise Incorrect(f"{call} you returned shape {tuple(got.shape)}; expected {tuple(expected.shape)}. "
                                f"{self._diagnose(to_conv_layout, images, got)}")
            if not checks.equal(got, expected):
                raise Incorrect(f"{call} the shape is right but the pixels moved. "
                                f"{self._diagnose_values(to_conv_layout, images, got)}")
        conv = nn.Conv2d(3, 2, kernel_size=3)
        with torch.no_grad():
            conv(to_conv_layout(torch.randn(2, 5, 5, 3, generator=g)))

    @staticmethod
    def _explain_failure(error, images, label) -> str:
        """What a RuntimeError of PyTorch means for this exercise."""
        shape, said = tuple(images.shape), first_line(error)
        if images.dim() == 3:
            return (f"For {label}, shape {shape}, your function fails ({said}): a grayscale batch has three "
                    "dimensions and no channel to move; insert one of size 1 at position 1 instead.")
        return (f"For {label}, shape {shape}, your function fails ({said}): a colour batch has four dimensions, "
                "(N, H, W, C); Conv2d wants the same four in another order, (N, C, H, W): move the last one to "
                "position 1, and change nothing else.")

    @staticmethod
    def _swapped_height_and_width(to_conv_layout, images) -> str:
        """Which operation put the width before the height: read from the autograd graph of the
        answer's result, so the message names what the student wrote."""
        ops = set(differentiated(to_conv_layout, images)["ops"])
        if "TransposeBackward0" in ops and "PermuteBackward0" not in ops:
            return ("`transpose(1, 3)` exchanges the channels with the *width*, so height and width trade places "
                    "too: use `permute(0, 3, 1, 2)`.")
        if "PermuteBackward0" in ops:
            return ("Your reordering puts the width before the height. `permute` lists the *old* positions in their "
                    "new order: (N, C, H, W) are the old positions 0, 3, 1, 2, so `permute(0, 3, 1, 2)`; "
                    "`permute(0, 3, 2, 1)` swaps height and width.")
        return "Height and width are swapped: Conv2d wants (N, C, H, W), the height first."

    @classmethod
    def _diagnose(cls, to_conv_layout, images, got):
        shape = tuple(got.shape)
        if images.dim() == 3:
            n, h, w = images.shape
            if shape == (n, h, w, 1):
                return "That puts the channel last (N, H, W, C); Conv2d wants it right after the batch."
            if shape == (1, n, h, w) and n != 1:
                return (f"That makes one image with {n} channels. The images already are the batch; the "
                        "channel dimension goes at position 1.")
            if shape == tuple(images.shape):
                return "Grayscale images need a channel dimension of size 1 inserted at position 1."
            return "Conv2d wants (N, C, H, W) with C = 1 for grayscale."
        n, h, w, c = images.shape
        if shape == (n, c, w, h):
            return f"Height and width are swapped. {cls._swapped_height_and_width(to_conv_layout, images)}"
        return "Conv2d wants (N, C, H, W): batch, channels, height, width."

    @classmethod
    def _diagnose_values(cls, to_conv_layout, images, got):
        if images.dim() == 4 and checks.equal(got, images.reshape(got.shape)):
            return ("`reshape` (or `view`) keeps the numbers in memory order, so it mixes colours and pixels: "
                    "move the channel dimension with `permute(0, 3, 1, 2)`.")
        if images.dim() == 4 and checks.equal(got, images.transpose(1, 3)):
            return f"Height and width are swapped. {cls._swapped_height_and_width(to_conv_layout, images)}"
        return "Reorder or insert dimensions only; never reshape pixels across them."


q1 = LinearByHand()
q2 = ConvOutputSize()
q3 = ConvParameterCount()
q4 = ConvLayout()
