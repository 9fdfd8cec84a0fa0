"""Exercises of lesson 01 (layers): a linear layer by hand (with or without bias, any leading
dimensions), the conv output size, a conv layer's parameter count from its settings, and images
brought into Conv2d's layout.

Each is a ``FunctionOnCases``: the student's function runs on hidden inputs and is compared with
what PyTorch does; when the numbers differ the common mistakes (a weight not transposed, a missing
bias, padding on one side only, counting tensors instead of numbers...) are tried, as data, and
the one that fits is named.
"""

import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises import checks
from course_utils.exercises.engine import Incorrect
from course_utils.exercises.kinds import Case, FunctionOnCases, Mistake, Raised


def _bias_or_zero(bias):
    return 0 if bias is None else bias


# --- q1 ---------------------------------------------------------------------------------

OWN_LAYER = ("Your function returns the layer's numbers from a layer of its own: its result carries parameters "
             "that are not the `weight` and `bias` you were given (an `nn.Linear` with the given values copied "
             "in?), so training would change that layer and never the weights you passed. The exercise is the "
             "layer's computation by hand: `x @ weight.T + bias`, with tensor operations only, no `nn.Linear`.")


def _linear_failure(seen) -> str:
    """What a RuntimeError of PyTorch means for this exercise."""
    x, said, case = seen.args[0], seen.fields()["said"], seen.fields()["case"]
    if x.dim() > 2:   # the 2-D cases ran before: this one fails only for its extra dimension
        return (f"For {case} your function fails ({said}): it works on 2-D inputs only. `nn.Linear` acts "
                "on the last dimension, whatever comes before it; `x @ weight.T` does too.")
    if "cannot be multiplied" in said or "size mismatch" in said:
        return (f"For {case} your function fails ({said}): the two inner sizes of a matrix product must "
                "agree. x ends with in_features and weight is (out_features, in_features), so the product "
                "is `x @ weight.T`.")
    if "must match the size of tensor" in said:
        return (f"For {case} your function fails ({said}): two tensors combined element by element have "
                "shapes that do not broadcast. The bias has one value per output feature, shape "
                "(out_features,): added to `x @ weight.T`, whose last dimension is out_features, it is "
                "added to every row as it is.")
    return (f"For {case} your function fails ({said}). The layer computes `x @ weight.T + bias`, "
            "with the tensors as they are given.")


class LinearByHand(FunctionOnCases):
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
    function = "linear_by_hand"
    refuse = [
        Mistake("`linear_by_hand` returned None: end it with `return ...`.", when=lambda s: s.got is None),
        Mistake(lambda s: f"`linear_by_hand` returned {checks.type_name(s.got)}; return the tensor `x @ weight.T + bias`.",
                when=lambda s: type(s.got) is not torch.Tensor),
        Mistake(lambda s: f"For {s.fields()['case']} your function changed the caller's "
                          f"{', '.join(('`x`', '`weight`', '`bias`')[i] for i in s.run.changed)} in place (an "
                          "operation ending in `_`, or an assignment into it): a layer never changes its input or "
                          "its weights when it runs. Compute a new tensor.", when=lambda s: s.run.changed),
        Mistake(OWN_LAYER, when=lambda s: s.matches and s.run.connected),
    ]
    mistakes = [
        Mistake("For {case} your result has shape {shape}, one column per sample; expected {expected_shape}, one row "
                "per sample. Compute `x @ weight.T`, not `weight @ x.T`.",
                when=lambda s: s.args[0].dim() == 2 and s.shape == tuple(s.expected.T.shape)),
        Mistake("For {case} your result has shape {shape}; expected {expected_shape}: the leading dimensions of x, "
                "then out_features.", when=lambda s: s.shape != s.expected_shape),
        Mistake("You multiplied by `weight` itself. It is stored as (out_features, in_features), so the layer "
                "computes `x @ weight.T`: with a square weight both run, but only the transpose gives the layer's "
                "result.", result=lambda x, w, b: x @ w + _bias_or_zero(b)),
        Mistake("The bias is missing: the layer adds `bias` to every row, `x @ weight.T + bias`.",
                when=lambda s: s.args[2] is not None, result=lambda x, w, b: x @ w.T),
        Mistake("Called twice on the same tensors, your function gives two different results: it seems to create "
                "a new layer with random weights. Use the `weight` and `bias` you are given.",
                when=lambda s: not checks.close(s.again(), s.got)),
        Mistake("Your result does not change when `weight` and `bias` change: use the tensors you are given "
                "instead of creating a new layer.",
                when=lambda s: checks.close(s.again(s.args[0], 2 * s.args[1],
                                                    None if s.args[2] is None else 2 * s.args[2]), s.got)),
    ]
    otherwise = staticmethod(lambda s: f"For {s.fields()['case']} your result differs from `nn.Linear`'s (largest "
                                       f"difference {(s.got - s.expected).abs().max().item():.4g}). The layer "
                                       "computes `x @ weight.T + bias`.")
    raised = [
        Raised("For {case} (a layer built with `bias=False`) your function adds `None`: add the bias only when "
               "there is one (`if bias is not None`).", (TypeError,),
               when=lambda error, s: s.args[2] is None and "NoneType" in str(error)),
        Raised("For {case} your function fails ({said}). The layer computes `x @ weight.T + bias` from tensors "
               "alone.", (TypeError,)),
        Raised(_linear_failure, (RuntimeError,)),
    ]

    def describe(self, case, args):
        x, weight, bias = args
        return f"x {tuple(x.shape)}, weight {tuple(weight.shape)}" + ("" if bias is not None else ", bias None")

    def expected(self, x, weight, bias):
        return F.linear(x, weight, bias)

    def make_cases(self):
        g = checks.generator(11)
        # square weight first: the classic mistakes then run and can be recognised by their values
        cases = [Case((torch.randn(4, 3, generator=g), torch.randn(3, 3, generator=g), torch.randn(3, generator=g)))]
        for shape, n_out, with_bias in [((5, 3), 2, True), ((1, 10), 20, True), ((4, 6), 2, False),
                                        ((2, 5, 3), 4, True), ((3, 2, 4), 5, False)]:
            x, weight = torch.randn(*shape, generator=g), torch.randn(n_out, shape[-1], generator=g)
            cases.append(Case((x, weight, torch.randn(n_out, generator=g) if with_bias else None)))
        return cases

    def after_cases(self, linear_by_hand):
        """Training sends a gradient back to the weight and the bias through the layer: it must arrive."""
        g = checks.generator(12)
        x, weight, bias = torch.randn(2, 5, 3, generator=g), torch.randn(4, 3, generator=g), torch.randn(4, generator=g)
        try:
            grads = checks.differentiated(linear_by_hand, x, weight, bias)["grads"]
        except RuntimeError as error:
            if isinstance(error, NotImplementedError):
                raise
            changes = "in-place" in str(error) or "inplace" in str(error)
            raise checks.mistake_in_your_code(
                error, f"For x {tuple(x.shape)}, weight {tuple(weight.shape)}, with tensors that require grad (as a "
                       f"layer's weights do), your function fails ({checks.first_line(error)})"
                       + (": it changes a tensor it is given in place. Compute a new tensor instead." if changes
                          else ".")) from None
        leaves = [t.requires_grad_() for t in (x, weight, bias)]
        F.linear(*leaves).sum().backward()
        lost = [name for name, leaf, grad in zip(("x", "weight", "bias"), leaves, grads)
                if not (type(grad) is torch.Tensor and checks.close(grad, leaf.grad))]
        if lost:
            raise Incorrect(f"Your function returns the layer's numbers, but the gradient does not reach "
                            f"{' and '.join(f'`{name}`' for name in lost)} as it would through `nn.Linear`: the "
                            "result is not computed from the tensors you are given (copied into a layer of your own, "
                            "detached, or computed under `torch.no_grad()`). Compute it from `x`, `weight` and `bias` "
                            "themselves, with tensor operations.")


# --- q2 ---------------------------------------------------------------------------------

def reference_size(size, kernel_size, stride=1, padding=0, dilation=1) -> int:
    """Measured, not computed: run a real convolution and read the output width."""
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False)
    with torch.no_grad():
        return conv(torch.zeros(1, 1, size, size)).shape[-1]


class ConvOutputSize(FunctionOnCases):
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
    function = "conv_output_size"
    # each case isolates one ingredient, and says which when it alone is wrong; then a grid
    cases = [
        Case((32, 3), "Without padding, stride or dilation a 3×3 kernel fits in size − 3 + 1 positions: "
                      "don't forget the `+ 1`."),
        Case((32, 3, 1, 1), "Padding is added on both sides of the image: it contributes `2 * padding`."),
        Case((31, 3, 2, 0), "The stride divides the number of positions the kernel can move: `(...) // stride + 1`."),
        Case((10, 3, 3, 0), "When the stride does not divide evenly, PyTorch rounds down: use `//` "
                            "(floor division), not rounding up."),
        Case((32, 3, 1, 0, 2), "A dilation of d spreads the kernel out: it covers `dilation * (kernel_size - 1) + 1` "
                               "pixels."),
    ] + [Case((size, *settings), "Compare your formula with the one in lesson 01, section 4.")
         for size in (5, 8, 17, 28) for settings in [(1, 1, 0, 1), (3, 2, 1, 1), (5, 3, 2, 1), (2, 2, 0, 2)]]
    refuse = [Mistake(lambda s: f"{s.fields()['case']} returned "
                                f"{'None' if s.got is None else f'{s.got!r} ({checks.type_name(s.got)})'}; return a "
                                "whole number (an int). Floor division `//` keeps it an int and rounds down as "
                                "PyTorch does.", when=lambda s: type(s.got) is not int)]
    differs = "{case} returned {got}; an `nn.Conv2d` with these settings produces {expected}. "
    raised = [Raised("{case} fails inside PyTorch ({said}): these settings are valid for an `nn.Conv2d` on a "
                     "(1, 1, size, size) input. Compute the size with the formula from the arguments alone (or, to "
                     "measure it, run a convolution with exactly these settings on such an input).", (RuntimeError,))]

    def describe(self, case, args):
        names = ("size", "kernel_size", "stride", "padding", "dilation")
        return f"`conv_output_size({', '.join(f'{n}={v}' for n, v in zip(names, args))})`"

    def expected(self, *args):
        return reference_size(*args)


# --- q3 ---------------------------------------------------------------------------------

def _conv(in_channels, out_channels, kernel_size, bias=True) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size, bias=bias)


def _counted(s) -> str:
    conv = _conv(*s.args)
    bias = f", bias {tuple(conv.bias.shape)}" if conv.bias is not None else ""
    return (f"{s.fields()['case']} returned {s.got:,}; `{conv}` has {s.expected:,} parameters "
            f"(weight {tuple(conv.weight.shape)}{bias}). ")


def _weights(in_channels, out_channels, kernel_size, bias=True) -> int:
    return _conv(in_channels, out_channels, kernel_size, bias).weight.numel()


class ConvParameterCount(FunctionOnCases):
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
    function = "conv2d_parameters"
    cases = [
        Case((3, 16, 5), "The weight holds `out_channels × in_channels × k × k` numbers, and each output channel has a bias."),
        Case((1, 8, 5), "Each output channel has one kernel per input channel, k × k values each."),
        Case((4, 6, 3, False), "With `bias=False` there are no biases: only the weight is left."),
        Case((2, 5, (3, 1)), "A tuple `kernel_size=(kh, kw)` is a kh × kw kernel: multiply both, not one of them squared."),
        Case((6, 2, (1, 4), False), "A tuple `kernel_size=(kh, kw)` is a kh × kw kernel, and `bias=False` drops the biases."),
        Case((16, 16, 1), "A 1 × 1 convolution still holds `out_channels × in_channels` weights plus the biases."),
    ]
    differs = staticmethod(_counted)
    mistakes = [   # ``args``: in_channels, out_channels, kernel_size[, bias]
        Mistake("The biases are missing: one per output channel.",
                when=lambda s: s.args[3:] != (False,) and s.got == _weights(*s.args)),
        Mistake("There is one bias per *output* channel, not per input channel.",
                when=lambda s: s.args[3:] != (False,) and s.got == _weights(*s.args) + s.args[0]),
        Mistake("That is the number of parameter tensors (weight and bias); count the numbers inside them.",
                when=lambda s: s.got == 2),
        Mistake("Each output channel has one kernel per input channel, so the weight also multiplies by "
                "`in_channels`.", when=lambda s: s.args[0] > 1 and s.got == _weights(*s.args) // s.args[0]
                + (s.args[1] if s.args[3:] != (False,) else 0)),
    ]
    raised = [
        Raised("{case} fails ({said}): `kernel_size` is a tuple (height, width) here, {args[2]!r}, not a number. "
               "Read its two sides before multiplying (an int k means k × k).", (TypeError,),
               when=lambda error, s: isinstance(s.args[2], tuple)),
        Raised("{case} fails inside PyTorch ({said}): these settings make a valid `nn.Conv2d`. Count from the "
               "weight's shape, (out_channels, in_channels, kernel height, kernel width), and the bias's, "
               "(out_channels,).", (RuntimeError,)),
    ]

    def returns(self, got, seen):
        return checks.expect_int(got, "`conv2d_parameters`")

    def expected(self, *args):
        return sum(p.numel() for p in _conv(*args).parameters())


# --- q4 ---------------------------------------------------------------------------------

def _swapped_height_and_width(seen) -> str:
    """Which operation put the width before the height: read from the autograd graph of the
    answer's result, so the message names what the student wrote."""
    ops = set(checks.differentiated(seen.answer, seen.args[0])["ops"])
    if "TransposeBackward0" in ops and "PermuteBackward0" not in ops:
        return ("`transpose(1, 3)` exchanges the channels with the *width*, so height and width trade places "
                "too: use `permute(0, 3, 1, 2)`.")
    if "PermuteBackward0" in ops:
        return ("Your reordering puts the width before the height. `permute` lists the *old* positions in their "
                "new order: (N, C, H, W) are the old positions 0, 3, 1, 2, so `permute(0, 3, 1, 2)`; "
                "`permute(0, 3, 2, 1)` swaps height and width.")
    return "Height and width are swapped: Conv2d wants (N, C, H, W), the height first."


def _wrong_shape(seen) -> str:
    images, shape = seen.args[0], seen.shape
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
        return f"Height and width are swapped. {_swapped_height_and_width(seen)}"
    return "Conv2d wants (N, C, H, W): batch, channels, height, width."


def _moved_pixels(seen) -> str:
    images, got = seen.args[0], seen.got
    if images.dim() == 4 and checks.equal(got, images.reshape(got.shape)):
        return ("`reshape` (or `view`) keeps the numbers in memory order, so it mixes colours and pixels: "
                "move the channel dimension with `permute(0, 3, 1, 2)`.")
    if images.dim() == 4 and checks.equal(got, images.transpose(1, 3)):
        return f"Height and width are swapped. {_swapped_height_and_width(seen)}"
    return "Reorder or insert dimensions only; never reshape pixels across them."


def _layout_failure(seen) -> str:
    """What a RuntimeError of PyTorch means for this exercise."""
    images, said, case = seen.args[0], seen.fields()["said"], seen.fields()["case"]
    if images.dim() == 3:
        return (f"{case} your function fails ({said}): a grayscale batch has three "
                "dimensions and no channel to move; insert one of size 1 at position 1 instead.")
    return (f"{case} your function fails ({said}): a colour batch has four dimensions, "
            "(N, H, W, C); Conv2d wants the same four in another order, (N, C, H, W): move the last one to "
            "position 1, and change nothing else.")


class ConvLayout(FunctionOnCases):
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
    function = "to_conv_layout"
    SHAPES = [((2, 5, 4, 3), "RGB, channels last"), ((3, 6, 5), "grayscale, no channel dimension"),
              ((1, 4, 7, 3), "one RGB image, channels last"), ((4, 3, 2, 2), "two channels, channels last"),
              ((1, 4, 7), "one grayscale image"), ((2, 5, 5, 3), "RGB, channels last, for a Conv2d(3, 2, 3)")]
    refuse = [
        Mistake("`to_conv_layout` returned {kind}; return a tensor.", when=lambda s: type(s.got) is not torch.Tensor),
        Mistake("Your function changed the caller's tensor in place ({label}): return a new view "
                "(`unsqueeze`, `permute`), not `unsqueeze_` or an assignment into `images`.",
                when=lambda s: s.run.changed),
    ]
    mistakes = [
        Mistake(lambda s: f"{s.fields()['case']} you returned shape {s.shape}; expected {s.expected_shape}. "
                          f"{_wrong_shape(s)}", when=lambda s: s.shape != s.expected_shape),
        Mistake(lambda s: f"{s.fields()['case']} the shape is right but the pixels moved. {_moved_pixels(s)}"),
    ]
    raised = [Raised(_layout_failure, (RuntimeError,))]

    def describe(self, case, args):
        return f"For {case.label}, shape {tuple(args[0].shape)},"

    def expected(self, images):
        return images.unsqueeze(1) if images.dim() == 3 else images.permute(0, 3, 1, 2)

    def same(self, got, expected):
        return checks.equal(got, expected) and checks.plain(got).shape == expected.shape

    def make_cases(self):
        g = checks.generator(5)
        return [Case((torch.randn(*shape, generator=g),), label=label) for shape, label in self.SHAPES]


q1 = LinearByHand()
q2 = ConvOutputSize()
q3 = ConvParameterCount()
q4 = ConvLayout()
