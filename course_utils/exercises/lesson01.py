"""Exercises of lesson 01 (layers): a linear layer by hand, the conv output size, a conv
layer's parameter count from its settings, adding the channel dimension.

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


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- q1 ---------------------------------------------------------------------------------

class LinearByHand(Exercise):
    id = "lesson01.q1"
    points = 2
    title = "Compute nn.Linear by hand"
    why = ("`nn.Linear` is no mystery: one matrix product with the transposed weight plus a bias. "
           "Every shape error with a Linear layer is about the two inner sizes of that product.")
    hints = [
        "The weight is stored as (out_features, in_features), one row per output. For `x` of shape "
        "(batch, in_features) the product must be (batch, in) @ (in, out).",
        "`x @ weight.T` has shape (batch, out_features); the bias (out_features,) is added to every "
        "row by broadcasting: `return x @ weight.T + bias`.",
    ]
    solution = '''
def linear_by_hand(x, weight, bias):
    return x @ weight.T + bias
'''

    def check_answer(self, linear_by_hand):
        expect_function(linear_by_hand, "linear_by_hand")
        g = generator(11)
        # square weight first: the classic mistakes then run and can be recognised by their values
        x, weight, bias = torch.randn(4, 3, generator=g), torch.randn(3, 3, generator=g), torch.randn(3, generator=g)
        self._compare(linear_by_hand, x, weight, bias)
        for batch, n_in, n_out in [(5, 3, 2), (1, 10, 20)]:
            x = torch.randn(batch, n_in, generator=g)
            weight, bias = torch.randn(n_out, n_in, generator=g), torch.randn(n_out, generator=g)
            self._compare(linear_by_hand, x, weight, bias)

    @staticmethod
    def _compare(linear_by_hand, x, weight, bias):
        expected = F.linear(x, weight, bias)
        got = plain(linear_by_hand(x.clone(), weight.clone(), bias.clone()))
        if got is None:
            raise Incorrect("`linear_by_hand` returned None: end it with `return ...`.")
        if type(got) is not torch.Tensor:
            raise Incorrect(f"`linear_by_hand` returned {type(got).__name__}; return the tensor `x @ weight.T + bias`.")
        if same(got, expected):
            return
        shape = f"x {tuple(x.shape)}, weight {tuple(weight.shape)}"
        if got.shape != expected.shape:
            if got.shape == expected.T.shape:
                raise Incorrect(f"For {shape} your result has shape {tuple(got.shape)}, one column per sample; "
                                f"expected {tuple(expected.shape)}, one row per sample. Compute `x @ weight.T`, "
                                "not `weight @ x.T`.")
            raise Incorrect(f"For {shape} your result has shape {tuple(got.shape)}; expected "
                            f"{tuple(expected.shape)} (batch, out_features).")
        if same(got, x @ weight + bias):
            raise Incorrect("You multiplied by `weight` itself. It is stored as (out_features, in_features), "
                            "so the layer computes `x @ weight.T`: with a square weight both run, but only the "
                            "transpose gives the layer's result.")
        if same(got, x @ weight.T):
            raise Incorrect("The bias is missing: the layer adds `bias` to every row, `x @ weight.T + bias`.")
        if not same(linear_by_hand(x.clone(), weight.clone(), bias.clone()), got):
            raise Incorrect("Called twice on the same tensors, your function gives two different results: "
                            "it seems to create a new layer with random weights. Use the `weight` and `bias` "
                            "you are given.")
        if same(linear_by_hand(x, 2 * weight, 2 * bias), got):
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
    solution = '''
def conv_output_size(size, kernel_size, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
'''

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
            kind = "None" if got is None else f"{got!r} ({type(got).__name__})"
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
    solution = '''
def conv2d_parameters(in_channels, out_channels, kernel_size, bias=True):
    kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
    weights = out_channels * in_channels * kh * kw
    return weights + (out_channels if bias else 0)
'''

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

class ChannelDimension(Exercise):
    id = "lesson01.q4"
    points = 1
    title = "Give a batch of grayscale images its channel dimension"
    why = ("Conv2d reads (N, C, H, W). Knowing which dimension means what is how you fix most shape "
           "errors in one line.")
    hints = [
        "The images are already the batch (dimension 0). What is missing is the channel dimension, and "
        "Conv2d expects it right after the batch.",
        "`images.unsqueeze(1)` inserts a dimension of size 1 at position 1: (N, H, W) → (N, 1, H, W).",
    ]
    solution = '''
def add_channel_dim(images):
    return images.unsqueeze(1)
'''

    def check_answer(self, add_channel_dim):
        expect_function(add_channel_dim, "add_channel_dim")
        g = generator(5)
        for n, h, w in [(3, 6, 5), (1, 4, 7), (8, 5, 5)]:
            images = torch.randn(n, h, w, generator=g)
            given = images.clone()
            got = plain(add_channel_dim(given))
            if type(got) is not torch.Tensor:
                raise Incorrect(f"`add_channel_dim` returned {type(got).__name__}; return a tensor.")
            if given.shape != images.shape:
                raise Incorrect(f"Your function changed the caller's tensor in place (its shape is now "
                                f"{tuple(given.shape)}): use `images.unsqueeze(1)`, which returns a new view, "
                                "not `unsqueeze_`.")
            if got.dtype != images.dtype:
                raise Incorrect(f"You returned dtype {got.dtype} for {images.dtype} images: keep the pixels as "
                                "they are, only add the dimension (Conv2d's weights are float32).")
            expected = images.unsqueeze(1)
            if got.shape != expected.shape:
                raise Incorrect(f"For images of shape {tuple(images.shape)} you returned shape {tuple(got.shape)}; "
                                f"expected {tuple(expected.shape)}. {self._diagnose(images, got)}")
            if not checks.equal(got, expected):
                raise Incorrect("The shape is right but the values moved: insert a dimension without "
                                "reordering the pixels (`unsqueeze(1)`, not a transpose).")
        conv = nn.Conv2d(1, 2, kernel_size=3)
        with torch.no_grad():
            conv(add_channel_dim(torch.randn(2, 5, 5, generator=g)))

    @staticmethod
    def _diagnose(images, got):
        n, h, w = images.shape
        shape = tuple(got.shape)
        if shape == (n, h, w):
            return "Nothing changed: a dimension of size 1 must be inserted."
        if shape == (1, n, h, w) and n != 1:
            return (f"That makes one image with {n} channels. The images already are the batch; the "
                    "channel dimension goes at position 1.")
        if shape == (n, h, w, 1):
            return "That puts the channels last (N, H, W, C); Conv2d wants them right after the batch."
        if len(shape) == 4 and shape[0] == n and shape[2:] == (h, w):
            return f"Grayscale images have exactly one channel, not {shape[1]}."
        return "Conv2d wants (N, C, H, W) with C = 1 for grayscale."


q1 = LinearByHand()
q2 = ConvOutputSize()
q3 = ConvParameterCount()
q4 = ChannelDimension()
