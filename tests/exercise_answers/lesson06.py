"""Answers to lesson 06's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson06.py`` keeps the tests
of special behaviour (the student's line, the broken block's faults, the first message, a lie)."""

import ast
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import lesson06 as ex
from course_utils.exercises.testing import Right, Wrong

REPO = Path(__file__).resolve().parents[2]


def notebook_class(notebook: str, name: str) -> type:
    """A class exactly as a notebook defines it (the class definitions of its cells, executed)."""
    cells = json.loads((REPO / notebook).read_text(encoding="utf-8"))["cells"]
    kept = []
    for cell in cells:
        if cell["cell_type"] == "code":
            kept += [node for node in ast.parse("".join(cell["source"])).body if isinstance(node, ast.ClassDef)]
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(compile(ast.Module(body=kept, type_ignores=[]), notebook, "exec"), namespace)
    return namespace[name]


LessonProjectedBlock = notebook_class("notebooks/06_residual.ipynb", "ProjectedResidualBlock")
BrokenPreActBlock = notebook_class("solutions/06_residual.ipynb", "BrokenPreActBlock")


# --- q1: residual block ------------------------------------------------------------------

class ResidualWithSequentialBody(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, hidden_channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(hidden_channels, channels, 3, padding=1))

    def forward(self, x):
        return torch.add(self.body(x), x)


class ResidualInPlace(nn.Module):
    """Alternative: convs registered in reverse order, padding='same', in-place +=."""

    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.second = nn.Conv2d(hidden_channels, channels, 3, padding="same")
        self.first = nn.Conv2d(channels, hidden_channels, 3, padding="same")

    def forward(self, x):
        out = self.second(F.relu(self.first(x)))
        out += x
        return out


class ResidualSamePaddingInPlaceAdd(nn.Module):
    """conv2 registered before conv1, padding='same', `out += x`."""

    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.back = nn.Conv2d(hidden_channels, channels, 3, padding="same")
        self.out = nn.Conv2d(channels, hidden_channels, 3, padding="same")

    def forward(self, x):
        y = self.back(torch.relu(self.out(x)))
        y += x
        return y


class NoSkip(ex.ResidualReference):
    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x)))


class NoPadding(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, 3)
        self.conv2 = nn.Conv2d(hidden_channels, channels, 3)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


class ReLUAfterAdd(ex.ResidualReference):
    def forward(self, x):
        return torch.relu(self.conv2(torch.relu(self.conv1(x))) + x)


class MissingInnerReLU(ex.ResidualReference):
    def forward(self, x):
        return self.conv2(self.conv1(x)) + x


class AddsBranchTwice(ex.ResidualReference):
    def forward(self, x):
        out = self.conv2(torch.relu(self.conv1(x)))
        return out + out


class WideBlock(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, 5, padding=2)
        self.conv2 = nn.Conv2d(hidden_channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


class MultipliedSkip(ResidualSamePaddingInPlaceAdd):
    def forward(self, x):
        return self.back(torch.relu(self.out(x))) * x


class DetachedBranch(ResidualSamePaddingInPlaceAdd):
    def forward(self, x):
        return x + self.back(torch.relu(self.out(x))).detach()


class AveragedSum(ResidualSamePaddingInPlaceAdd):
    def forward(self, x):
        return (x + self.back(torch.relu(self.out(x)))) / 2


class ResidualWithoutBiases(ex.ResidualReference):
    def __init__(self, channels, hidden_channels):
        super().__init__(channels, hidden_channels)
        self.conv1 = nn.Conv2d(channels, hidden_channels, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(hidden_channels, channels, kernel_size=3, padding=1, bias=False)


class ChannelsTypedIn(nn.Module):  # the notebook draws ResidualBlock(4, 6)
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 6, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(6, 4, kernel_size=3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


Q1 = [
    Right(ResidualWithSequentialBody),
    Right(ResidualInPlace),
    Right(ResidualSamePaddingInPlaceAdd),
    Wrong(NoSkip, "No addition in your forward"),
    Wrong(NoPadding, "use padding=1"),
    Wrong(ReLUAfterAdd, "ReLU after the addition"),
    Wrong(MissingInnerReLU, "ReLU between the two convolutions is missing"),
    Wrong(AddsBranchTwice, "add the block's own input x"),
    Wrong(WideBlock, "should have 442 parameters", absent="bias=False"),
    Wrong(MultipliedSkip, "No addition in your forward"),
    Wrong(DetachedBranch, "No addition in your forward"),
    Wrong(AveragedSum, "An addition is there, but the output differs from conv2(relu(conv1(x))) + x"),
    Wrong(ResidualWithoutBiases, "yours has 432. Where yours are: conv1 (Conv2d): 216, conv2 (Conv2d): 216. `conv1`, "
                                 "`conv2` have no bias (`bias=False`): the block described keeps PyTorch's default"),
    Wrong(ChannelsTypedIn, "ResidualBlock(3, 5) should have 278 parameters (two 3×3 convolutions, 3→5 and 5→3 "
                           "channels); yours has 442"),
]


# --- q2: a block that halves the image and changes its channels -----------------------------------

class DownsampleNoBias(nn.Module):
    """Alternative: the shortcut without bias inside a Sequential, the branch a Sequential, F.relu."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.ReLU(),
                                    nn.Conv2d(out_channels, out_channels, 3, padding=1))
        changes = in_channels != out_channels or stride != 1
        self.shortcut = (nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False))
                         if changes else nn.Sequential())

    def forward(self, x):
        return self.shortcut(x) + self.branch(x)


class DownsampleIfInForward(nn.Module):
    """Alternative: no Identity module; the forward decides; the projection registered first."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.project = (nn.Conv2d(in_channels, out_channels, 1, stride=stride)
                        if (in_channels, stride) != (out_channels, 1) else None)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)

    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        out = self.conv2(F.relu(self.conv1(x)))
        out += skip
        return out


class LessonBlockWithStride(LessonProjectedBlock):
    """The lesson's ProjectedResidualBlock, adapted with understanding: a stride on conv1 and on the
    projection, which is needed whenever the shape changes."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1)
        if stride != 1:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride)


class ChannelsOnlyDecide(DownsampleIfInForward):
    """The lesson's rule: a projection only when the channels differ."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels, stride)
        self.project = nn.Conv2d(in_channels, out_channels, 1, stride=stride) if in_channels != out_channels else None


class ShortcutWithoutStride(DownsampleIfInForward):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels, stride)
        if self.project is not None:
            self.project = nn.Conv2d(in_channels, out_channels, 1)


class NoShortcutAtAll(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


class ThreeByThreeShortcut(DownsampleIfInForward):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels, stride)
        if self.project is not None:
            self.project = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)


class AlwaysProject(DownsampleIfInForward):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels, stride)
        self.project = nn.Conv2d(in_channels, out_channels, 1, stride=stride)


class StrideOnSecondConv(DownsampleIfInForward):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=stride, padding=1)


class ReLUAfterTheSum(DownsampleIfInForward):
    def forward(self, x):
        return torch.relu(super().forward(x))


class WithoutInnerReLU(DownsampleIfInForward):
    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        return self.conv2(self.conv1(x)) + skip


class ConvWithoutPadding(DownsampleIfInForward):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride)


class BranchWithoutBias(DownsampleIfInForward):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__(in_channels, out_channels, stride)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class ConcatenatesInstead(DownsampleIfInForward):
    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        return torch.cat([self.conv2(torch.relu(self.conv1(x))), skip], dim=1)


class ShortcutNoneCalled(nn.Module):
    """`self.shortcut = None` when nothing changes, and forward calls it anyway."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        changes = in_channels != out_channels or stride != 1
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride) if changes else None

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + self.shortcut(x)


class ProjectionRegisteredButNotUsed(ShortcutNoneCalled):
    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


Q2 = [
    Right(DownsampleNoBias),
    Right(DownsampleIfInForward),
    Right(LessonBlockWithStride),
    Wrong(LessonProjectedBlock, "`ProjectedResidualBlock(...)` cannot be called with (3, 8, 1)"),
    Wrong(ChannelsOnlyDecide, "In DownsampleBlock(8, 8, 2) the branch's stride 2 halves the height and width (8×8 "
                              "becomes 4×4) while x keeps them, although the channels match, so x and the branch "
                              "cannot be added as they are"),
    Wrong(ShortcutWithoutStride, "In DownsampleBlock(8, 8, 2) the shortcut's 1×1 convolution has stride 1 and the "
                                 "branch stride 2"),
    Wrong(NoShortcutAtAll, "In DownsampleBlock(3, 8, 1) x has 3 channels and the branch 8, so x and the branch cannot "
                           "be added as they are. Give x a projection shortcut"),
    Wrong(ThreeByThreeShortcut, "In DownsampleBlock(3, 8, 1) your shortcut convolution has a 3×3 kernel; use "
                                "kernel_size=1"),
    Wrong(AlwaysProject, "With DownsampleBlock(8, 8, 1) x already has the branch's shape, so the shortcut should be "
                         "the identity, with no parameters; yours adds 72"),
    Wrong(StrideOnSecondConv, "The branch's stride is on its second convolution; it belongs on the first"),
    Wrong(ReLUAfterTheSum, "You apply a ReLU after the sum"),
    Wrong(WithoutInnerReLU, "The ReLU between the two convolutions is missing"),
    Wrong(ConvWithoutPadding, "A 3×3 convolution with padding=0 shrinks the image"),
    Wrong(BranchWithoutBias, "`conv1` has no bias (`bias=False`)"),
    Wrong(ConcatenatesInstead, "For an input of shape (2, 3, 8, 8) DownsampleBlock(3, 8, 1) should return "
                               "(2, 8, 8, 8); yours returned (2, 16, 8, 8)"),
    Wrong(ShortcutNoneCalled, "Your DownsampleBlock(8, 8, 1) raised an error: forward calls something that is None"),
    Wrong(ProjectionRegisteredButNotUsed, "Your DownsampleBlock(3, 8, 1) raised an error: two tensors added (or "
                                          "multiplied element by element) have different channels: 8 in one, 3 in "
                                          "the other"),
]


# --- q3: learnable weighted sum ----------------------------------------------------------

class AlphaFirst(nn.Module):
    """Alternative: alpha registered first (register_parameter), a Sequential-free torch.lerp."""

    def __init__(self, features):
        super().__init__()
        self.register_parameter("mix", nn.Parameter(torch.tensor(0.5)))
        self.first = nn.Linear(features, features)
        self.second = nn.Linear(features, features)

    def forward(self, x):
        out1 = self.first(x)
        return torch.lerp(self.second(out1), out1, self.mix)


class AlphaAsOneElementVector(ex.WeightedSumReference):
    def __init__(self, features):
        super().__init__(features)
        self.alpha = nn.Parameter(torch.full((1,), 0.5))


class WeightedSumSecondLayerFirst(nn.Module):
    """fc2 is created before fc1 (both have the same shape); alpha stored with shape (1,); lerp."""

    def __init__(self, features):
        super().__init__()
        self.second = nn.Linear(features, features)
        self.first = nn.Linear(features, features)
        self.register_parameter("alpha", nn.Parameter(torch.full((1,), 0.5)))

    def forward(self, x):
        out1 = self.first(x)
        return torch.lerp(self.second(out1), out1, self.alpha)


class AlphaFloat(ex.WeightedSumReference):
    def __init__(self, features):
        super().__init__(features)
        del self.alpha
        self.alpha = 0.5


class AlphaPlainTensor(ex.WeightedSumReference):
    def __init__(self, features):
        super().__init__(features)
        del self.alpha
        self.alpha = torch.tensor(0.5)


class AlphaFrozen(ex.WeightedSumReference):
    def __init__(self, features):
        super().__init__(features)
        self.alpha.requires_grad_(False)


class AlphaStartsAtOne(ex.WeightedSumReference):
    def __init__(self, features):
        super().__init__(features)
        self.alpha = nn.Parameter(torch.tensor(1.0))


class AlphaSwapped(ex.WeightedSumReference):
    def forward(self, x):
        out1 = self.fc1(x)
        return (1 - self.alpha) * out1 + self.alpha * self.fc2(out1)


class AlphaItem(ex.WeightedSumReference):
    def forward(self, x):
        out1 = self.fc1(x)
        a = self.alpha.item()
        return a * out1 + (1 - a) * self.fc2(out1)


class PlainSum(ex.WeightedSumReference):
    def forward(self, x):
        out1 = self.fc1(x)
        return out1 + self.fc2(out1)


class SigmoidOfAlpha(WeightedSumSecondLayerFirst):
    def forward(self, x):
        out1 = self.first(x)
        weight = torch.sigmoid(self.alpha)
        return weight * out1 + (1 - weight) * self.second(out1)


class AlphaPerFeature(WeightedSumSecondLayerFirst):
    def __init__(self, features):
        super().__init__(features)
        self.alpha = nn.Parameter(torch.full((features,), 0.5))


class AlphaAsBuffer(WeightedSumSecondLayerFirst):
    def __init__(self, features):
        super().__init__(features)
        del self.alpha
        self.register_buffer("alpha", torch.tensor(0.5))


Q3 = [
    Right(AlphaFirst),
    Right(AlphaAsOneElementVector),
    Right(WeightedSumSecondLayerFirst),
    Wrong(AlphaFloat, "is a Python float"),
    Wrong(AlphaPlainTensor, "is a plain tensor"),
    Wrong(AlphaFrozen, "requires_grad=False"),
    Wrong(AlphaStartsAtOne, "should start at 0.5"),
    Wrong(AlphaSwapped, "alpha multiplies the wrong path"),
    Wrong(AlphaItem, "alpha gets no gradient"),
    Wrong(PlainSum, "differs from alpha * out1"),
    Wrong(SigmoidOfAlpha, "The output differs from alpha * out1 + (1 - alpha) * out2"),
    Wrong(AlphaPerFeature, "Your module has no single-number parameter alpha"),
    Wrong(AlphaAsBuffer, "Your module has no single-number parameter alpha"),
]


# --- q4 (debugging): a pre-activation block that does not give back its input -----------------------

class PreActFixedInPlace(BrokenPreActBlock):
    """Both lines fixed the way most students will."""

    def __init__(self, channels):
        super().__init__(channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.conv2(self.relu(self.conv1(self.relu(x))))
        return out + x


class PreActInnerInPlace(nn.Module):
    """The second ReLU in place (harmless: it overwrites conv1's output, nobody else's), `out += x`."""

    def __init__(self, channels):
        super().__init__()
        self.conv_b = nn.Conv2d(channels, channels, 3, padding="same")
        self.conv_a = nn.Conv2d(channels, channels, 3, padding="same")

    def forward(self, x):
        out = self.conv_a(F.relu(x))
        out = self.conv_b(F.relu(out, inplace=True))
        out += x
        return out


class PreActSequential(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.branch = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                    nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x):
        return torch.add(x, self.branch(x))


class PreActCloneThenInPlace(BrokenPreActBlock):
    """Keeps the in-place ReLU, on a copy; adds with add_ on the branch's own output."""

    def forward(self, x):
        out = self.conv2(self.relu(self.conv1(self.relu(x.clone()))))
        return out.add_(x)


class SumFixedOnly(BrokenPreActBlock):
    def forward(self, x):
        out = self.conv2(self.relu(self.conv1(self.relu(x))))
        return out + x


class InPlaceFixedOnly(BrokenPreActBlock):
    def __init__(self, channels):
        super().__init__(channels)
        self.relu = nn.ReLU()


class ResidualCopiedFirst(BrokenPreActBlock):
    """The output is right, but the caller's x is still overwritten."""

    def forward(self, x):
        residual = x.clone()
        out = self.conv2(self.relu(self.conv1(self.relu(x))))
        return out + residual


class PostActivation(PreActFixedInPlace):
    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x))) + x


class ReLUAfterTheSumPreAct(PreActFixedInPlace):
    def forward(self, x):
        return torch.relu(super().forward(x))


class WithoutBias(PreActFixedInPlace):
    def __init__(self, channels):
        super().__init__(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)


ZEROS = "Switch the branch off (the last convolution at zero) and your block returns zeros, not x"

Q4 = [
    Right(PreActFixedInPlace),
    Right(PreActInnerInPlace),
    Right(PreActSequential),
    Right(PreActCloneThenInPlace),
    Wrong(BrokenPreActBlock, ZEROS),
    Wrong(InPlaceFixedOnly, ZEROS),
    Wrong(SumFixedOnly, "Switch the branch off (the last convolution at zero) and your block returns x with every "
                        "negative value set to 0, not x: what reaches the sum is relu(x)"),
    Wrong(ResidualCopiedFirst, "Your block's output is right, but calling PreActBlock(4) changed the tensor it was "
                               "given"),
    Wrong(PostActivation, "Right layers, different output: the block computes x + conv2(relu(conv1(relu(x))))"),
    Wrong(ReLUAfterTheSumPreAct, "Right layers, different output", name="ReLUAfterTheSum"),
    Wrong(WithoutBias, "PreActBlock(4) should have 296 parameters (two 3×3 convolutions, 4 → 4 channels); yours "
                       "has 292"),
    Wrong(LessonProjectedBlock, "`ProjectedResidualBlock(...)` cannot be called with (4)"),
]

BANK = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
