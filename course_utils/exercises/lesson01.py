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


generator = checks.generator


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

    @staticmethod
    def _compare(linear_by_hand, x, weight, bias):
        expected = F.linear(x, weight, bias)
        shape = f"x {tuple(x.shape)}, weight {tuple(weight.shape)}" + ("" if bias is not None else ", bias None")
        try:
            got = plain(linear_by_hand(x.clone(), weight.clone(), None if bias is None else bias.clone()))
        except TypeError as error:
            if bias is None and "NoneType" in str(error):
                raise checks.mistake_in_your_code(
                    error, f"For {shape} (a layer built with `bias=False`) your function adds `None`: "
                           "add the bias only when there is one (`if bias is not None`).") from None
            raise
        except RuntimeError as error:
            if x.dim() > 2:   # the 2-D cases ran before: this one fails only for its extra dimension
                raise checks.mistake_in_your_code(
                    error, f"For {shape} your function fails ({str(error).splitlines()[0]}): it works on 2-D "
                           "inputs only. `nn.Linear` acts on the last dimension, whatever comes before it; "
                           "`x @ weight.T` does too.") from None
            raise
        if got is None:
            raise Incorrect("`linear_by_hand` returned None: end it with `return ...`.")
        if type(got) is not torch.Tensor:
            raise Incorrect(f"`linear_by_hand` returned {checks.type_name(got)}; return the tensor `x @ weight.T + bias`.")
        if same(got, expected):
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
        got = plain(checks.call(conv_output_size, *args, what="`conv_output_size`"))
        expected = reference_size(*args)
        names = ("size", "kernel_size", "stride", "padding", "dilation")
        call = ", ".join(f"{n}={v}" for n, v in zip(names, args))
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
            got = checks.expect_int(checks.call(conv2d_parameters, *args, what="`conv2d_parameters`"),
                                    "`conv2d_parameters`")
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
                if images.dim() != 3:
                    raise
                raise checks.mistake_in_your_code(
                    error, f"For {label}, shape {shape}, your function fails ({str(error).splitlines()[0]}): a "
                           "grayscale batch has three dimensions and no channel to move; insert one of size 1 "
                           "at position 1 instead.") from None
            if type(got) is not torch.Tensor:
                raise Incorrect(f"`to_conv_layout` returned {checks.kind_of(got)}; return a tensor.")
            if run.changed:
                raise Incorrect(f"Your function changed the caller's tensor in place ({label}): return a new view "
                                "(`unsqueeze`, `permute`), not `unsqueeze_` or an assignment into `images`.")
            call = f"For {label}, shape {shape},"
            if got.shape != expected.shape:
                raise Incorrect(f"{call} you returned shape {tuple(got.shape)}; expected {tuple(expected.shape)}. "
                                f"{self._diagnose(images, got)}")
            if not checks.equal(got, expected):
                raise Incorrect(f"{call} the shape is right but the pixels moved. "
                                f"{self._diagnose_values(images, got)}")
        conv = nn.Conv2d(3, 2, kernel_size=3)
        with torch.no_grad():
            conv(to_conv_layout(torch.randn(2, 5, 5, 3, generator=g)))

    @staticmethod
    def _diagnose(images, got):
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
            return "Height and width are swapped: `transpose(1, 3)` exchanges them; the height comes first."
        return "Conv2d wants (N, C, H, W): batch, channels, height, width."

    @staticmethod
    def _diagnose_values(images, got):
        if images.dim() == 4 and checks.equal(got, images.reshape(got.shape)):
            return ("`reshape` (or `view`) keeps the numbers in memory order, so it mixes colours and pixels: "
                    "move the channel dimension with `permute(0, 3, 1, 2)`.")
        if images.dim() == 4 and checks.equal(got, images.transpose(1, 3)):
            return "`transpose(1, 3)` also swaps height and width: use `permute(0, 3, 1, 2)`."
        return "Reorder or insert dimensions only; never reshape pixels across them."


q1 = LinearByHand()
q2 = ConvOutputSize()
q3 = ConvParameterCount()
q4 = ConvLayout()
