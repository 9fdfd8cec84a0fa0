"""Checks of lesson 06 on alternative correct answers and common mistakes (the reference, the stub
and the hints of every exercise are tested in test_every_exercise.py)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import lesson06 as ex
from course_utils.exercises.testing import assert_check_failed, assert_check_passed


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


def test_q1_alternatives():
    assert_check_passed(ex.q1, ResidualWithSequentialBody)
    assert_check_passed(ex.q1, ResidualInPlace)


@pytest.mark.parametrize("answer, message", [
    (NoSkip, "No addition in your forward"),
    (NoPadding, "use padding=1"),
    (ReLUAfterAdd, "ReLU after the addition"),
    (MissingInnerReLU, "ReLU between the two convolutions is missing"),
    (AddsBranchTwice, "add the block's own input x"),
    (WideBlock, "should have 442 parameters"),
])
def test_q1_wrong_answers(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


# --- q2: projection shortcut -------------------------------------------------------------

class ProjectionNoBias(nn.Module):
    """Alternative: shortcut without bias, built in a Sequential, functional ReLU."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.shortcut = (nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False))
                         if in_channels != out_channels else nn.Sequential())
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x):
        return self.shortcut(x) + self.conv2(F.relu(self.conv1(x)))


class ProjectionIfInForward(nn.Module):
    """Alternative: no Identity module; the forward decides."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.project = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        return self.conv2(torch.relu(self.conv1(x))) + skip


class NoProjection(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


class ThreeByThreeShortcut(ProjectionIfInForward):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        if in_channels != out_channels:
            self.project = nn.Conv2d(in_channels, out_channels, 3, padding=1)


class AlwaysProject(ProjectionIfInForward):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.project = nn.Conv2d(in_channels, out_channels, 1)


class ProjectionMissingReLU(ProjectionIfInForward):
    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        return self.conv2(self.conv1(x)) + skip


class ConcatenatesInstead(ProjectionIfInForward):
    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        return torch.cat([self.conv2(torch.relu(self.conv1(x))), skip], dim=1)


def test_q2_alternatives():
    assert_check_passed(ex.q2, ProjectionNoBias)
    assert_check_passed(ex.q2, ProjectionIfInForward)


@pytest.mark.parametrize("answer, message", [
    (NoProjection, "Add a projection shortcut"),
    (ThreeByThreeShortcut, "use kernel_size=1"),
    (AlwaysProject, "the shortcut should be the identity"),
    (ProjectionMissingReLU, "Right layers, different output"),
    (ConcatenatesInstead, "should return (2, 8, 5, 5)"),
])
def test_q2_wrong_answers(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


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


def test_q3_alternatives():
    assert_check_passed(ex.q3, AlphaFirst)
    assert_check_passed(ex.q3, AlphaAsOneElementVector)


@pytest.mark.parametrize("answer, message", [
    (AlphaFloat, "is a Python float"),
    (AlphaPlainTensor, "is a plain tensor"),
    (AlphaFrozen, "requires_grad=False"),
    (AlphaStartsAtOne, "should start at 0.5"),
    (AlphaSwapped, "alpha multiplies the wrong path"),
    (AlphaItem, "alpha gets no gradient"),
    (PlainSum, "differs from alpha * out1"),
])
def test_q3_wrong_answers(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- a second review: more student answers ---------------------------------------------------

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


def test_q1_more_alternatives():
    assert_check_passed(ex.q1, ResidualSamePaddingInPlaceAdd)


class MultipliedSkip(ResidualSamePaddingInPlaceAdd):
    def forward(self, x):
        return self.back(torch.relu(self.out(x))) * x


class DetachedBranch(ResidualSamePaddingInPlaceAdd):
    def forward(self, x):
        return x + self.back(torch.relu(self.out(x))).detach()


class AveragedSum(ResidualSamePaddingInPlaceAdd):
    def forward(self, x):
        return (x + self.back(torch.relu(self.out(x)))) / 2


@pytest.mark.parametrize("answer, message", [
    (MultipliedSkip, "No addition in your forward"),
    (DetachedBranch, "No addition in your forward"),
    (AveragedSum, "An addition is there, but the output differs from conv2(relu(conv1(x))) + x"),
])
def test_q1_more_wrong(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


class ProjectionRegisteredFirst(nn.Module):
    """The 1×1 projection (or None) is created before the branch; conv biases all share a shape."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.projection = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None
        self.branch = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(out_channels, out_channels, 3, padding=1))

    def forward(self, x):
        return self.branch(x) + (x if self.projection is None else self.projection(x))


class SecondConvRegisteredFirst(nn.Module):
    """With equal channels conv1 and conv2 have the same shape; conv2 is created first."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.skip = nn.Sequential() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        return torch.add(self.skip(x), self.conv2(F.relu(self.conv1(x))))


@pytest.mark.parametrize("answer", [ProjectionRegisteredFirst, SecondConvRegisteredFirst])
def test_q2_more_alternatives(answer):
    assert_check_passed(ex.q2, answer)


class ReLUAfterProjectionSum(ProjectionRegisteredFirst):
    def forward(self, x):
        return torch.relu(super().forward(x))


class ShortcutFromConv1(SecondConvRegisteredFirst):
    def forward(self, x):
        h = self.conv1(x)
        return self.conv2(F.relu(h)) + (h if isinstance(self.skip, nn.Sequential) else self.skip(x))


@pytest.mark.parametrize("answer, message", [
    (ReLUAfterProjectionSum, "Right layers, different output"),
    (ShortcutFromConv1, "Right layers, different output"),
])
def test_q2_more_wrong(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


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


def test_q3_more_alternatives():
    assert_check_passed(ex.q3, WeightedSumSecondLayerFirst)


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


@pytest.mark.parametrize("answer, message", [
    (SigmoidOfAlpha, "The output differs from alpha * out1 + (1 - alpha) * out2"),
    (AlphaPerFeature, "Your module has no single-number parameter alpha"),
    (AlphaAsBuffer, "Your module has no single-number parameter alpha"),
])
def test_q3_more_wrong(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- gaps closed: a count message that names bias=False --------------------------------------

class ResidualWithoutBiases(ex.ResidualReference):
    def __init__(self, channels, hidden_channels):
        super().__init__(channels, hidden_channels)
        self.conv1 = nn.Conv2d(channels, hidden_channels, kernel_size=3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(hidden_channels, channels, kernel_size=3, padding=1, bias=False)


class ProjectionWithoutBranchBiases(ex.ProjectionReference):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)


def test_q1_count_message_names_the_layers_built_without_bias():
    assert_check_failed(ex.q1, ResidualWithoutBiases,
                        match="yours has 432. Where yours are: conv1 (Conv2d): 216, conv2 (Conv2d): 216. `conv1`, "
                              "`conv2` have no bias (`bias=False`): the block described keeps PyTorch's default")


def test_q2_count_message_names_the_layer_built_without_bias():
    assert_check_failed(ex.q2, ProjectionWithoutBranchBiases,
                        match="`conv1` has no bias (`bias=False`)")


def test_q1_count_message_without_bias_talk_when_biases_are_there():
    outcome = assert_check_failed(ex.q1, WideBlock, match="should have 442 parameters")
    assert "bias=False" not in outcome.message


# --- q4 (debugging): DownBlock -----------------------------------------------------------------

class BrokenDownBlock(nn.Module):  # the notebook's broken version, as handed out
    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.branch = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1),
            nn.Identity(),
        )

    def forward(self, x):
        return self.branch(x)


class AddsXWithoutProjection(BrokenDownBlock):
    def forward(self, x):
        return self.branch(x) + x


class ProjectsOnlyRGB(BrokenDownBlock):  # a 1-channel input then broadcasts silently
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.shortcut = nn.Conv2d(3, out_channels, kernel_size=1) if in_channels == 3 else nn.Identity()

    def forward(self, x):
        return self.branch(x) + self.shortcut(x)


class AlwaysProjects(BrokenDownBlock):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x):
        return self.branch(x) + self.shortcut(x)


class ReLUAfterTheSum(AlwaysProjects):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        if in_channels == out_channels:
            self.shortcut = nn.Identity()

    def forward(self, x):
        return torch.relu(super().forward(x))


class BranchWithoutBiases(ReLUAfterTheSum):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.branch[0] = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False)

    def forward(self, x):
        return self.branch(x) + self.shortcut(x)


@pytest.mark.parametrize("answer, message", [
    (BrokenDownBlock, "Nothing is added: an `nn.Identity()` inside a Sequential hands its input on"),
    (AddsXWithoutProjection, "With 3 input channels and 8 output channels, x and the branch cannot be added"),
    (ProjectsOnlyRGB, "DownBlock(1, 8) has no 1×1 projection shortcut. With 1 input channel the sum broadcasts"),
    (AlwaysProjects, "With DownBlock(8, 8) the channels already match, so the shortcut is the identity"),
    (ReLUAfterTheSum, "Right layers, different output"),
    (BranchWithoutBiases, "`branch.0` has no bias (`bias=False`)"),
])
def test_q4_wrong_answers_say_which_symptom_is_left(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


def test_q4_the_loud_mismatch_points_at_the_students_line():
    outcome = assert_check_failed(ex.q4, AddsXWithoutProjection, match="cannot be added")
    assert "in forward: `return self.branch(x) + x`" in outcome.message


class DownBlockFlat(nn.Module):
    """Shortcut registered first, separate conv attributes, functional ReLU, no bias on the projection."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.shortcut = (nn.Conv2d(in_channels, out_channels, 1, bias=False)
                         if in_channels != out_channels else nn.Identity())
        self.second = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.first = nn.Conv2d(in_channels, out_channels, 3, padding=1)

    def forward(self, x):
        return self.second(F.relu(self.first(x))) + self.shortcut(x)


class DownBlockIdentityKept(AlwaysProjects):
    """The broken class fixed in place: the harmless Identity stays, the projection is conditional."""

    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.shortcut = (nn.Conv2d(in_channels, out_channels, kernel_size=1)
                         if in_channels != out_channels else nn.Identity())


class DownBlockShortcutInForward(nn.Module):
    """No shortcut module at all when the channels match: the `if` is in forward."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding="same"), nn.ReLU(inplace=True),
                                    nn.Conv2d(out_channels, out_channels, 3, padding="same"))
        self.project = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x):
        skip = x if self.project is None else self.project(x)
        out = self.branch(x)
        out += skip
        return out


@pytest.mark.parametrize("answer", [DownBlockFlat, DownBlockIdentityKept, DownBlockShortcutInForward])
def test_q4_correct_answers_in_other_styles(answer):
    assert_check_passed(ex.q4, answer)


class ChannelsTypedIn(nn.Module):  # the notebook draws ResidualBlock(4, 6)
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 6, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(6, 4, kernel_size=3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


def test_q1_channels_typed_in_as_numbers_fail_on_the_checks_second_sizes():
    assert_check_failed(ex.q1, ChannelsTypedIn,
                        match="ResidualBlock(3, 5) should have 278 parameters (two 3×3 convolutions, 3→5 and 5→3 "
                              "channels); yours has 442")


class ProjectionRegisteredButNotUsed(ex.ProjectionReference):
    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


def test_q2_a_projection_left_unused_gets_the_course_message_with_the_students_line():
    outcome = assert_check_failed(ex.q2, ProjectionRegisteredButNotUsed,
                                  match="With 3 input channels and 8 output channels, x and the branch cannot be added")
    assert "in forward: `return self.conv2(torch.relu(self.conv1(x))) + x`" in outcome.message


class DownBlockWithoutPadding(DownBlockIdentityKept):
    def __init__(self, in_channels, out_channels):
        super().__init__(in_channels, out_channels)
        self.branch[2] = nn.Conv2d(out_channels, out_channels, kernel_size=3)


def test_q4_a_shrinking_branch_is_told_about_padding_not_channels():
    outcome = assert_check_failed(ex.q4, DownBlockWithoutPadding, match="A 3×3 convolution with padding=0 shrinks the image")
    assert "channels" not in outcome.message


class AlwaysClose(torch.Tensor):
    """A tensor that answers True to every comparison: a plain-value check is not fooled."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class DownBlockThatLies(DownBlockIdentityKept):
    def forward(self, x):
        return (super().forward(x) * 0 + x.mean()).as_subclass(AlwaysClose)


def test_q4_an_output_that_lies_about_its_values_is_refused():
    assert_check_failed(ex.q4, DownBlockThatLies, match="Right layers, different output")
