"""Checks of lesson 05 on the reference, alternative correct answers and common mistakes."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import lesson05 as ex
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed,
                                            assert_check_passed, assert_check_unattempted)


def solution_namespace(exercise):
    namespace = {"torch": torch, "nn": nn}
    exec(exercise.solution_code, namespace)
    return namespace


# --- q1: shape of the four-way cat ---------------------------------------------------------

@pytest.mark.parametrize("answer", [(2, 31, 32, 32), [2, 31, 32, 32], torch.Size([2, 31, 32, 32])])
def test_q1_correct_answers(answer):
    assert_check_passed(ex.q1, answer)


def test_q1_reference_solution():
    assert_check_passed(ex.q1, solution_namespace(ex.q1)["fork_shape"])


@pytest.mark.parametrize("answer, message", [
    ((2, 28, 32, 32), "not `x` itself"),
    ((2, 16, 32, 32), "does not take the largest"),
    ((2, 30, 32, 32), "adds the channel counts"),
    ((2, 31, 30, 30), "padding = kernel_size // 2"),
    ((1, 31, 32, 32), "never change the batch"),
    ("31", "four integers"),
    ((2, 31, 32), "four integers"),
])
def test_q1_wrong_answers(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


def test_q1_not_attempted():
    assert_check_unattempted(ex.q1, NotImplemented)


# --- q2: two branches joined by cat --------------------------------------------------------

class TwoBranchFunctional(nn.Module):
    """Alternative: functional activations, torch.concat, head registered first."""

    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.out = nn.Linear(hidden1 + hidden2, out_features)
        self.a = nn.Linear(in_features, hidden1)
        self.b = nn.Linear(in_features, hidden2)

    def forward(self, x):
        return self.out(torch.concat((F.relu(self.a(x)), torch.tanh(self.b(x))), dim=-1))


class TwoBranchModuleList(nn.Module):
    """Alternative: branches in a ModuleList, joined with torch.cat over a list comprehension."""

    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU()),
            nn.Sequential(nn.Linear(in_features, hidden2), nn.Tanh()),
        ])
        self.head = nn.Linear(hidden1 + hidden2, out_features)

    def forward(self, x):
        return self.head(torch.cat([branch(x) for branch in self.branches], dim=1))


class HeadReadsOneBranch(nn.Module):
    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Linear(in_features, hidden2), nn.Tanh())
        self.head = nn.Linear(hidden1, out_features)

    def forward(self, x):
        return self.head(torch.cat([self.branch1(x), self.branch2(x)], dim=1))


class SwappedOrder(ex.TwoBranchReference):
    def forward(self, x):
        return self.head(torch.cat([self.branch2(x), self.branch1(x)], dim=1))


class ChainedNotForked(nn.Module):
    """branch2 reads branch1's output: a chain, not a fork."""

    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Linear(hidden1, hidden2), nn.Tanh())
        self.head = nn.Linear(hidden1 + hidden2, out_features)

    def forward(self, x):
        h1 = self.branch1(x)
        return self.head(torch.cat([h1, self.branch2(h1)], dim=1))


class BothReLU(ex.TwoBranchReference):
    def __init__(self, *sizes):
        super().__init__(*sizes)
        self.branch2[1] = nn.ReLU()


class PadInsteadOfCat(ex.TwoBranchReference):
    """Joins by writing into a zero tensor: same numbers, but no cat in the graph."""

    def forward(self, x):
        a, b = self.branch1(x), self.branch2(x)
        joined = torch.zeros(x.shape[0], a.shape[1] + b.shape[1])
        joined[:, :a.shape[1]] = a
        joined[:, a.shape[1]:] = b
        return self.head(joined)


class CatOnBatch(ex.TwoBranchReference):
    def forward(self, x):
        return self.head(torch.cat([self.branch1(x), self.branch2(x)], dim=0))


def test_q2_reference_and_alternatives():
    assert_check_passed(ex.q2, solution_namespace(ex.q2)["TwoBranchNet"])
    assert_check_passed(ex.q2, TwoBranchFunctional)
    assert_check_passed(ex.q2, TwoBranchModuleList)


@pytest.mark.parametrize("answer, message", [
    (HeadReadsOneBranch, "your last layer has in_features=5"),
    (SwappedOrder, "joined in the other order"),
    (ChainedNotForked, "both read the 6 input features"),
    (BothReLU, "Tanh after branch 2's"),
    (PadInsteadOfCat, "does not join the branches with torch.cat"),
])
def test_q2_wrong_answers(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


def test_q2_instance_instead_of_class():
    assert_check_failed(ex.q2, ex.TwoBranchReference(6, 5, 7, 3), match="Pass the class itself")


def test_q2_shape_error_in_forward_is_reported_as_error():
    assert_check_errored(ex.q2, CatOnBatch, match="Sizes of tensors must match")


def test_q2_not_attempted():
    assert_check_unattempted(ex.q2, NotImplemented)


# --- q3: one trunk, two heads --------------------------------------------------------------

class TwoHeadsDict(nn.Module):
    """Alternative: heads in a ModuleDict, a list returned, F.relu."""

    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.heads = nn.ModuleDict({"value": nn.Linear(hidden, 1), "scores": nn.Linear(hidden, n_classes)})
        self.shared = nn.Linear(in_features, hidden)

    def forward(self, x):
        h = F.relu(self.shared(x))
        return [self.heads["scores"](h), self.heads["value"](h)]


class TwoHeadsFlat(nn.Module):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.fc = nn.Linear(in_features, hidden)
        self.relu = nn.ReLU()
        self.scores = nn.Linear(hidden, n_classes)
        self.value = nn.Linear(hidden, 1)

    def forward(self, x):
        h = self.relu(self.fc(x))
        return (self.scores(h), self.value(h))


class OneTensor(ex.TwoHeadReference):
    def forward(self, x):
        return torch.cat(super().forward(x), dim=1)


class SwappedOutputs(ex.TwoHeadReference):
    def forward(self, x):
        scores, value = super().forward(x)
        return value, scores


class SqueezedValue(ex.TwoHeadReference):
    def forward(self, x):
        scores, value = super().forward(x)
        return scores, value.squeeze(1)


class TrunkPerHead(nn.Module):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.trunk1 = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.trunk2 = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.class_head = nn.Linear(hidden, n_classes)
        self.value_head = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.class_head(self.trunk1(x)), self.value_head(self.trunk2(x))


class NoReLU(ex.TwoHeadReference):
    def forward(self, x):
        features = self.trunk[0](x)
        return self.class_head(features), self.value_head(features)


def test_q3_reference_and_alternatives():
    assert_check_passed(ex.q3, solution_namespace(ex.q3)["TwoHeadNet"])
    assert_check_passed(ex.q3, TwoHeadsDict)
    assert_check_passed(ex.q3, TwoHeadsFlat)


@pytest.mark.parametrize("answer, message", [
    (OneTensor, "return two tensors"),
    (SwappedOutputs, "in the other order"),
    (SqueezedValue, "do not squeeze"),
    (TrunkPerHead, "each head has its own trunk"),
    (NoReLU, "Linear followed by ReLU"),
])
def test_q3_wrong_answers(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


def test_q3_not_attempted():
    assert_check_unattempted(ex.q3, NotImplemented)


def test_every_exercise_has_two_hints_and_a_solution():
    for q in (ex.q1, ex.q2, ex.q3):
        assert len(q.hints) >= 2 and q.solution_code.strip()


# --- a second review: more student answers ---------------------------------------------------

class TwoBranchClampHstack(nn.Module):
    """Registers branch 2 first, ReLU as clamp(min=0), joins with torch.hstack."""

    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.path2 = nn.Linear(in_features, hidden2)
        self.path1 = nn.Linear(in_features, hidden1)
        self.fc = nn.Linear(hidden1 + hidden2, out_features)

    def forward(self, x):
        return self.fc(torch.hstack([self.path1(x).clamp(min=0), self.path2(x).tanh()]))


class TwoBranchTupleLastDim(TwoBranchClampHstack):
    def forward(self, x):
        return self.fc(torch.cat((torch.relu(self.path1(x)), torch.tanh(self.path2(x))), dim=-1))


def test_q2_more_alternatives():
    assert_check_passed(ex.q2, TwoBranchClampHstack)
    assert_check_passed(ex.q2, TwoBranchTupleLastDim)


class SigmoidBranch(TwoBranchClampHstack):
    def forward(self, x):
        return self.fc(torch.cat((torch.relu(self.path1(x)), torch.sigmoid(self.path2(x))), dim=1))


class ReLUOnOutput(TwoBranchClampHstack):
    def forward(self, x):
        return torch.relu(self.fc(torch.cat((torch.relu(self.path1(x)), torch.tanh(self.path2(x))), dim=1)))


class HiddenSizesSwapped(TwoBranchClampHstack):
    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__(in_features, hidden2, hidden1, out_features)


@pytest.mark.parametrize("answer", [SigmoidBranch, ReLUOnOutput, HiddenSizesSwapped])
def test_q2_more_wrong(answer):
    assert_check_failed(ex.q2, answer, match="Same layers, different output than the reference")


class TwoHeadsInPlaceReLUList(nn.Module):
    """Heads registered before the trunk, in-place ReLU, returns a list."""

    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.value = nn.Linear(hidden, 1)
        self.scores = nn.Linear(hidden, n_classes)
        self.body = nn.Linear(in_features, hidden)

    def forward(self, x):
        features = self.body(x).relu_()
        return [self.scores(features), self.value(features)]


class TrunkComputedTwice(TwoHeadsInPlaceReLUList):
    def forward(self, x):
        return self.scores(torch.relu(self.body(x))), self.value(torch.relu(self.body(x)))


class SoftmaxScores(TwoHeadsInPlaceReLUList):
    def forward(self, x):
        features = torch.relu(self.body(x))
        return torch.softmax(self.scores(features), dim=1), self.value(features)


def test_q3_more_alternatives():
    assert_check_passed(ex.q3, TwoHeadsInPlaceReLUList)


@pytest.mark.parametrize("answer, message", [
    (TrunkComputedTwice, "`body` runs 2 times in one forward: the trunk is computed once"),
    (SoftmaxScores, "Same layers, different outputs than the reference"),
])
def test_q3_more_wrong(answer, message):
    assert_check_failed(ex.q3, answer, match=message)
