"""Answers to lesson 05's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson05.py`` keeps the tests
of special behaviour (the student's line, the broken network's fault, the first message)."""

import ast
import json
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import lesson05 as ex
from course_utils.exercises.testing import Right, Wrong

REPO = Path(__file__).resolve().parents[2]


def notebook_class(name: str) -> type:
    """A class exactly as the exercise notebook hands it out (its cell executed, class definitions only)."""
    cells = json.loads((REPO / "solutions" / "05_branching.ipynb").read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        tree = ast.parse("".join(cell["source"])) if cell["cell_type"] == "code" else None
        found = [node for node in getattr(tree, "body", []) if isinstance(node, ast.ClassDef) and node.name == name]
        if found:
            namespace = {"torch": torch, "nn": nn}
            exec(compile(ast.Module(body=found, type_ignores=[]), "notebook", "exec"), namespace)
            return namespace[name]
    raise LookupError(name)


# --- q1: shape of the four-way cat -------------------------------------------------------------

class AlwaysEqual(int):
    """An int that says it equals anything: a plain value check sees the 0 it really is."""

    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


Q1 = [
    Right((2, 31, 32, 32), "tuple"),
    Right([2, 31, 32, 32], "list"),
    Right(torch.Size([2, 31, 32, 32]), "size"),
    Wrong((2, 28, 32, 32), "not `x` itself", name="without-x"),
    Wrong((2, 16, 32, 32), "does not take the largest", name="largest"),
    Wrong((2, 30, 32, 32), "adds the channel counts", name="30-channels"),
    Wrong((2, 31, 30, 30), "padding = kernel_size // 2", name="no-padding"),
    Wrong((1, 31, 32, 32), "never change the batch", name="batch-1"),
    Wrong("31", "four integers", name="str"),
    Wrong((2, 31, 32), "four integers", name="three-numbers"),
    Wrong((2, AlwaysEqual(0), 32, 32), "0 channels is not right", name="int-that-lies"),
    Wrong((2, 31, 32, True), "four integers", name="bool"),
    Wrong(torch.Size([2, 31, 32]), "you gave torch.Size([2, 31, 32])", name="size-of-three"),
    Wrong([2, 31, 16, 16], "Height and width 16×16: each convolution uses padding = kernel_size // 2",
          name="halved"),
    Wrong((2, 31, 32.0, 32), "four integers", name="a-float"),
]


# --- q2: two branches joined by cat --------------------------------------------------------------

class TwoBranchFunctional(nn.Module):
    """Functional activations, torch.concat, head registered first."""

    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.out = nn.Linear(hidden1 + hidden2, out_features)
        self.a = nn.Linear(in_features, hidden1)
        self.b = nn.Linear(in_features, hidden2)

    def forward(self, x):
        return self.out(torch.concat((F.relu(self.a(x)), torch.tanh(self.b(x))), dim=-1))


class TwoBranchModuleList(nn.Module):
    """Branches in a ModuleList, joined with torch.cat over a list comprehension."""

    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branches = nn.ModuleList([
            nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU()),
            nn.Sequential(nn.Linear(in_features, hidden2), nn.Tanh()),
        ])
        self.head = nn.Linear(hidden1 + hidden2, out_features)

    def forward(self, x):
        return self.head(torch.cat([branch(x) for branch in self.branches], dim=1))


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


class HeadReadsOneBranch(nn.Module):
    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Linear(in_features, hidden2), nn.Tanh())
        self.head = nn.Linear(hidden1, out_features)

    def forward(self, x):
        return self.head(torch.cat([self.branch1(x), self.branch2(x)], dim=1))


class StoresItsSizes(HeadReadsOneBranch):
    """Keeps its sizes as attributes: the model itself is not one of its Linear layers."""

    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__(in_features, hidden1, hidden2, out_features)
        self.in_features, self.out_features = in_features, out_features


class HeadWidthTypedIn(nn.Module):  # 5 + 7 = 12 from the notebook's TwoBranchNet(6, 5, 7, 3)
    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Linear(in_features, hidden2), nn.Tanh())
        self.head = nn.Linear(12, out_features)

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


class SigmoidBranch(TwoBranchClampHstack):
    def forward(self, x):
        return self.fc(torch.cat((torch.relu(self.path1(x)), torch.sigmoid(self.path2(x))), dim=1))


class ReLUOnOutput(TwoBranchClampHstack):
    def forward(self, x):
        return torch.relu(self.fc(torch.cat((torch.relu(self.path1(x)), torch.tanh(self.path2(x))), dim=1)))


class HiddenSizesSwapped(TwoBranchClampHstack):
    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__(in_features, hidden2, hidden1, out_features)


DIFFERENT_OUTPUT = "Same layers, different output than the reference"

Q2 = [
    Right(TwoBranchFunctional),
    Right(TwoBranchModuleList),
    Right(TwoBranchClampHstack),
    Right(TwoBranchTupleLastDim),
    Wrong(HeadReadsOneBranch, "your last layer has in_features=5"),
    Wrong(StoresItsSizes, "your last layer has in_features=5"),
    Wrong(HeadWidthTypedIn, "With TwoBranchNet(4, 9, 2, 5) your last layer has in_features=12"),
    Wrong(SwappedOrder, "joined in the other order"),
    Wrong(ChainedNotForked, "both read the 6 input features"),
    Wrong(BothReLU, "Tanh after branch 2's"),
    Wrong(PadInsteadOfCat, "does not join the branches with torch.cat"),
    Wrong(CatOnBatch, "torch.cat refused the branches: every size except the joined dimension must match"),
    Wrong(SigmoidBranch, DIFFERENT_OUTPUT),
    Wrong(ReLUOnOutput, DIFFERENT_OUTPUT),
    Wrong(HiddenSizesSwapped, DIFFERENT_OUTPUT),
    Wrong(ex.TwoBranchReference(6, 5, 7, 3), "Pass the class itself", name="instance"),
]


# --- q3: one trunk, two heads ---------------------------------------------------------------------

class TwoHeadsDict(nn.Module):
    """Heads in a ModuleDict, a list returned, F.relu."""

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


class ValueNotATensor(ex.TwoHeadReference):
    def forward(self, x):
        scores, value = super().forward(x)
        return scores, value.tolist()


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


class TrunkComputedTwice(TwoHeadsInPlaceReLUList):
    def forward(self, x):
        return self.scores(torch.relu(self.body(x))), self.value(torch.relu(self.body(x)))


class SoftmaxScores(TwoHeadsInPlaceReLUList):
    def forward(self, x):
        features = torch.relu(self.body(x))
        return torch.softmax(self.scores(features), dim=1), self.value(features)


class HeadsReadTheInput(ex.TwoHeadReference):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__(in_features, hidden, n_classes)
        self.class_head = nn.Linear(in_features, n_classes)


Q3 = [
    Right(TwoHeadsDict),
    Right(TwoHeadsFlat),
    Right(TwoHeadsInPlaceReLUList),
    Wrong(OneTensor, "return two tensors"),
    Wrong(SwappedOutputs, "in the other order"),
    Wrong(SqueezedValue, "do not squeeze"),
    Wrong(ValueNotATensor, "Expected the second output of forward to be a tensor, got a list"),
    Wrong(TrunkPerHead, "each head has its own trunk"),
    Wrong(NoReLU, "Linear followed by ReLU"),
    Wrong(TrunkComputedTwice, "`body` runs 2 times in one forward: the trunk is computed once"),
    Wrong(SoftmaxScores, "Same layers, different outputs than the reference"),
    Wrong(HeadsReadTheInput, "A layer cannot read the features it receives: both heads read the 16 features"),
]


# --- q4 (debugging): SensorNet, whose branch b never learns ---------------------------------------

BrokenSensorNet = notebook_class("BrokenSensorNet")


class SensorFixedInPlace(BrokenSensorNet):
    """The broken class with its with-block taken out, the way most students will do it."""

    def forward(self, a, b):
        return self.head(torch.cat([self.branch_a(a), self.branch_b(b)], dim=1))


class SensorFunctional(nn.Module):
    """Head registered first, bare Linear layers, functional ReLU, torch.concat along the last dimension."""

    def __init__(self, a_features, b_features, hidden, n_classes):
        super().__init__()
        self.head = nn.Linear(hidden * 2, n_classes)
        self.fc_b = nn.Linear(b_features, hidden)
        self.fc_a = nn.Linear(a_features, hidden)

    def forward(self, a, b):
        return self.head(torch.concat((F.relu(self.fc_a(a)), F.relu(self.fc_b(b))), dim=-1))


class SensorEnableGrad(BrokenSensorNet):
    """Recording switched back on inside the with-block."""

    def forward(self, a, b):
        with torch.no_grad():
            with torch.enable_grad():
                b_features = self.branch_b(b)
        return self.head(torch.cat([self.branch_a(a), b_features], dim=1))


class SensorModuleDict(nn.Module):
    def __init__(self, a_features, b_features, hidden, n_classes):
        super().__init__()
        self.branches = nn.ModuleDict({"a": nn.Sequential(nn.Linear(a_features, hidden), nn.ReLU()),
                                       "b": nn.Sequential(nn.Linear(b_features, hidden), nn.ReLU())})
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, a, b):
        return self.head(torch.hstack([self.branches["a"](a), self.branches["b"](b)]))


class DetachedInstead(BrokenSensorNet):
    def forward(self, a, b):
        return self.head(torch.cat([self.branch_a(a), self.branch_b(b).detach()], dim=1))


class InputMadeToRequireGrad(BrokenSensorNet):
    """b.requires_grad_() inside the with-block: the input is not what needs a gradient."""

    def forward(self, a, b):
        with torch.no_grad():
            b_features = self.branch_b(b.requires_grad_())
        return self.head(torch.cat([self.branch_a(a), b_features], dim=1))


class NoGradMovedToBranchA(BrokenSensorNet):
    def forward(self, a, b):
        with torch.no_grad():
            a_features = self.branch_a(a)
        return self.head(torch.cat([a_features, self.branch_b(b)], dim=1))


class BranchBDropped(nn.Module):
    """"Fixed" by leaving b out: nothing fails to learn any more."""

    def __init__(self, a_features, b_features, hidden, n_classes):
        super().__init__()
        self.branch_a = nn.Sequential(nn.Linear(a_features, hidden), nn.ReLU())
        self.head = nn.Linear(hidden, n_classes)

    def forward(self, a, b):
        return self.head(self.branch_a(a))


class WholeForwardUnderNoGrad(BrokenSensorNet):
    def forward(self, a, b):
        with torch.no_grad():
            return super().forward(a, b)


class HeadWidthTypedInSensor(SensorFixedInPlace):  # 2 · 8 = 16 from the notebook's BrokenSensorNet(4, 6, 8, 3)
    def __init__(self, a_features, b_features, hidden, n_classes):
        super().__init__(a_features, b_features, hidden, n_classes)
        self.head = nn.Linear(16, n_classes)


class SensorCatOnBatch(SensorFixedInPlace):
    def forward(self, a, b):
        return self.head(torch.cat([self.branch_a(a), self.branch_b(b)], dim=0))


class SensorBranchesSwapped(SensorFixedInPlace):
    def forward(self, a, b):
        return self.head(torch.cat([self.branch_b(b), self.branch_a(a)], dim=1))


class SensorWithoutReLU(SensorFixedInPlace):
    def forward(self, a, b):
        return self.head(torch.cat([self.branch_a[0](a), self.branch_b[0](b)], dim=1))


class AlwaysClose(torch.Tensor):
    """A tensor that answers True to every comparison: a plain-value check is not fooled."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class SensorThatLies(SensorFixedInPlace):
    def forward(self, a, b):
        return (super().forward(a, b) * 0).as_subclass(AlwaysClose)


NO_GRADIENT_B = ("Your scores are right, but after one backward pass from them `branch_b.0.weight`, `branch_b.0.bias` "
                 "have no gradient: training could never change them. Every layer of SensorNet must learn.")

Q4 = [
    Right(SensorFixedInPlace),
    Right(SensorFunctional),
    Right(SensorEnableGrad),
    Right(SensorModuleDict),
    Wrong(BrokenSensorNet, NO_GRADIENT_B, absent="no_grad"),
    Wrong(DetachedInstead, NO_GRADIENT_B),
    Wrong(InputMadeToRequireGrad, NO_GRADIENT_B),
    Wrong(NoGradMovedToBranchA, "`branch_a.0.weight`, `branch_a.0.bias` have no gradient"),
    Wrong(BranchBDropped, "SensorNet(4, 6, 8, 3) should have 147 parameters (Linear(4, 8) reading `a`, Linear(6, 8) "
                          "reading `b` and a head reading 16 features); yours has 67"),
    Wrong(WholeForwardUnderNoGrad, "Your scores are cut off from autograd: no gradient can go back from them to any "
                                   "layer"),
    Wrong(HeadWidthTypedInSensor, "A layer cannot read the features it receives: each branch gives 7 features"),
    Wrong(SensorCatOnBatch, "The head received 10 rows for a batch of 5: `torch.cat(..., dim=0)` stacks the samples"),
    Wrong(SensorBranchesSwapped, "Your branches are joined in the other order"),
    Wrong(SensorWithoutReLU, "Same layers, different scores: each branch is its Linear followed by a ReLU"),
    Wrong(SensorThatLies, "Same layers, different scores"),
]

BANK = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4}
