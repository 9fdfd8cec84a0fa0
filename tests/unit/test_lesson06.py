"""Checks of lesson 06 on the reference, alternative correct answers and common mistakes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import lesson06 as ex
from course_utils.exercises.testing import (assert_check_failed, assert_check_passed,
                                            assert_check_unattempted)


def solution_class(exercise, name):
    namespace = {"torch": torch, "nn": nn}
    exec(exercise.solution_code, namespace)
    return namespace[name]


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
        return self.branch(x)


class NoPadding(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, 3)
        self.conv2 = nn.Conv2d(hidden_channels, channels, 3)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


class ReLUAfterAdd(ex.ResidualReference):
    def forward(self, x):
        return torch.relu(self.branch(x) + x)


class MissingInnerReLU(ex.ResidualReference):
    def forward(self, x):
        return self.conv2(self.conv1(x)) + x


class AddsBranchTwice(ex.ResidualReference):
    def forward(self, x):
        out = self.branch(x)
        return out + out


class WideBlock(nn.Module):
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, 5, padding=2)
        self.conv2 = nn.Conv2d(hidden_channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


def test_q1_reference_and_alternatives():
    assert_check_passed(ex.q1, solution_class(ex.q1, "ResidualBlock"))
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


def test_q1_not_attempted():
    assert_check_unattempted(ex.q1, NotImplemented)


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


def test_q2_reference_and_alternatives():
    assert_check_passed(ex.q2, solution_class(ex.q2, "ProjectionBlock"))
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


def test_q2_not_attempted():
    assert_check_unattempted(ex.q2, NotImplemented)


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


def test_q3_reference_and_alternatives():
    assert_check_passed(ex.q3, solution_class(ex.q3, "WeightedSum"))
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


def test_q3_not_attempted():
    assert_check_unattempted(ex.q3, NotImplemented)


def test_every_exercise_has_two_hints_and_a_solution():
    for q in (ex.q1, ex.q2, ex.q3):
        assert len(q.hints) >= 2 and q.solution_code.strip()
