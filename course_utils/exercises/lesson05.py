"""Exercises of lesson 05 (branching): channel arithmetic, a fork joined by cat, two heads.

Each class checks behaviour (run the student's module, compare with a reference after copying
its weights) and structure (parameters, a ``cat`` in the autograd graph). Weights are matched
by shape, not by attribute name or registration order, so any correct spelling passes.
"""

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.checks import copy_weights_by_shape, same
from course_utils.exercises.engine import Exercise, Incorrect


def linears(model: nn.Module) -> list:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# --- q1 ---------------------------------------------------------------------------------

class ThreeWayFork(nn.Module):
    """The model the student reasons about in q1 (shown in the exercise notebook)."""

    def __init__(self):
        super().__init__()
        self.squeeze = nn.Conv2d(3, 8, kernel_size=1)
        self.narrow = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.wide = nn.Conv2d(3, 4, kernel_size=5, padding=2)

    def forward(self, x):
        return torch.cat([x, self.squeeze(x), self.narrow(x), self.wide(x)], dim=1)


class ForkShape(Exercise):
    id = "lesson05.q1"
    points = 1
    title = "Predict the shape of a four-way concatenation"
    why = "cat along dim=1 adds the channel counts; padding k//2 keeps height and width."
    hints = [
        "Work branch by branch: what does each one output for a (2, 3, 32, 32) input? "
        "Remember that `x` itself is one of the four tensors joined.",
        "Channels: 3 (x) + 8 + 16 + 4. Height and width: (32 + 2*padding - kernel) + 1 "
        "for each convolution; the batch never changes.",
    ]
    solution = "fork_shape = (2, 3 + 8 + 16 + 4, 32, 32)   # (2, 31, 32, 32)\n"

    def check_answer(self, answer):
        expected = tuple(ThreeWayFork()(torch.zeros(2, 3, 32, 32)).shape)
        if not isinstance(answer, (tuple, list, torch.Size)) or len(answer) != 4 \
                or not all(isinstance(n, int) for n in answer):
            raise Incorrect("Give the shape as four integers (batch, channels, height, width), "
                            f"for example (2, 1, 32, 32); you gave {answer!r}.")
        batch, channels, height, width = answer
        if batch != expected[0]:
            raise Incorrect(f"Batch size {batch}: convolutions and cat along dim=1 never change "
                            f"the batch, it stays {expected[0]}.")
        if channels == expected[1] - 3:
            raise Incorrect(f"{channels} channels counts the three branches but not `x` itself: "
                            "torch.cat also receives the input, which brings 3 channels.")
        if channels == 16:
            raise Incorrect("16 is the widest branch; cat does not take the largest, it puts "
                            "the tensors side by side, so the channel counts add up.")
        if channels != expected[1]:
            raise Incorrect(f"{channels} channels is not right: cat along dim=1 adds the channel "
                            "counts of all four tensors it joins.")
        if (height, width) != expected[2:]:
            raise Incorrect(f"Height and width {height}×{width}: each convolution uses "
                            "padding = kernel_size // 2, and (32 + 2·padding − kernel) + 1 = 32.")


q1 = ForkShape()


# --- q2 ---------------------------------------------------------------------------------

class TwoBranchNet(Exercise):
    id = "lesson05.q2"
    points = 2
    title = "Two branches joined by torch.cat"
    why = "The layer after a cat reads hidden1 + hidden2 features: the widths add up."
    hints = [
        "Both branches read the same `x`. Branch 1: Linear then ReLU; branch 2: Linear then "
        "Tanh. Join them with torch.cat along the feature dimension (dim=1), branch 1 first.",
        "The head is nn.Linear(hidden1 + hidden2, out_features): the concatenation carries "
        "the features of both branches side by side.",
    ]
    solution = '''
class TwoBranchNet(nn.Module):
    def __init__(self, in_features, hidden1, hidden2, out_features):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Linear(in_features, hidden1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Linear(in_features, hidden2), nn.Tanh())
        self.head = nn.Linear(hidden1 + hidden2, out_features)

    def forward(self, x):
        joined = torch.cat([self.branch1(x), self.branch2(x)], dim=1)
        return self.head(joined)
'''
    sizes = (6, 5, 7, 3)

    def check_answer(self, answer):
        in_features, hidden1, hidden2, out_features = self.sizes
        model = checks.instantiate(answer, *self.sizes)
        layers = linears(model)
        if not any(layer.in_features == hidden1 + hidden2 for layer in layers):
            narrow = [layer.in_features for layer in layers if layer.out_features == out_features]
            if narrow:
                raise Incorrect(
                    f"With TwoBranchNet{self.sizes} your last layer has in_features={narrow[0]}, "
                    f"but the concatenation carries {hidden1} + {hidden2} = {hidden1 + hidden2} "
                    "features: the head must read both branches.")
            raise Incorrect(f"No nn.Linear reads {hidden1} + {hidden2} = {hidden1 + hidden2} "
                            "features: the layer after torch.cat needs in_features = hidden1 + hidden2.")
        reference = TwoBranchReference(*self.sizes)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            raise Incorrect(f"Your module has {found} parameters, the network described has "
                            f"{expected}: two Linear layers that both read the {in_features} input "
                            "features, and one head.")
        x = torch.randn(4, in_features)
        out = model(x)
        if not isinstance(out, torch.Tensor) or out.shape != (4, out_features):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise Incorrect(f"For an input of shape (4, {in_features}) the output should have shape "
                            f"(4, {out_features}); yours is {shape}.")
        if "CatBackward0" not in checks.autograd_ops(out):
            raise Incorrect("Your forward does not join the branches with torch.cat "
                            "(no cat in the autograd graph of the output).")
        copy_weights_by_shape(model, reference)
        if same(out, reference(x)):
            return
        swapped = SwappedTwoBranch(*self.sizes)
        swapped.load_state_dict(reference.state_dict())
        if same(out, swapped(x)):
            raise Incorrect("Your branches are joined in the other order: torch.cat([branch1, "
                            "branch2], dim=1) puts branch 1's features first.")
        raise Incorrect("Same layers, different output than the reference: check the "
                        "activations (ReLU after branch 1's Linear, Tanh after branch 2's) and "
                        "that both branches read the original x.")


q2 = TwoBranchNet()
# The reference is the solution's own code, so the check measures against what `solution()` shows.
TwoBranchReference = q2.solution_object()


class SwappedTwoBranch(TwoBranchReference):
    """A common slip: the branches joined in the other order."""

    def forward(self, x):
        return self.head(torch.cat([self.branch2(x), self.branch1(x)], dim=1))


# --- q3 ---------------------------------------------------------------------------------

class TwoHeads(Exercise):
    id = "lesson05.q3"
    points = 2
    title = "One trunk, two heads: a module with two outputs"
    why = "forward may return a tuple; both losses then send gradients into the shared trunk."
    hints = [
        "Compute the trunk once, `features = self.trunk(x)`, then feed `features` to both heads "
        "and `return scores, value` (a tuple).",
        "Layers: Linear(in_features, hidden) + ReLU (the trunk), Linear(hidden, n_classes) and "
        "Linear(hidden, 1). Keep the value's shape (batch, 1): no squeeze.",
    ]
    solution = '''
class TwoHeadNet(nn.Module):
    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.class_head = nn.Linear(hidden, n_classes)
        self.value_head = nn.Linear(hidden, 1)

    def forward(self, x):
        features = self.trunk(x)
        return self.class_head(features), self.value_head(features)
'''
    sizes = (8, 16, 4)

    def check_answer(self, answer):
        in_features, hidden, n_classes = self.sizes
        model = checks.instantiate(answer, *self.sizes)
        x = torch.randn(5, in_features)
        out = model(x)
        if isinstance(out, torch.Tensor) or not isinstance(out, (tuple, list)) or len(out) != 2:
            what = f"one tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) \
                else f"{type(out).__name__}"
            raise Incorrect(f"forward returned {what}; return two tensors: "
                            "`return scores, value`.")
        scores, value = out
        if scores.shape == (5, 1) and value.shape == (5, n_classes):
            raise Incorrect(f"The outputs come in the other order: first the class scores "
                            f"(5, {n_classes}), then the value (5, 1).")
        if value.shape == (5,):
            raise Incorrect("The value has shape (5,): keep the feature dimension, (5, 1); "
                            "do not squeeze it.")
        if scores.shape != (5, n_classes) or value.shape != (5, 1):
            raise Incorrect(f"For a (5, {in_features}) input the outputs should have shapes "
                            f"(5, {n_classes}) and (5, 1); yours are {tuple(scores.shape)} and "
                            f"{tuple(value.shape)}.")
        reference = TwoHeadReference(*self.sizes)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found > expected and found - expected == in_features * hidden + hidden:
            raise Incorrect(f"{found} parameters instead of {expected}: each head has its own "
                            "trunk. Compute the trunk once and feed it to both heads.")
        if found != expected:
            raise Incorrect(f"Your module has {found} parameters, the network described has "
                            f"{expected}.")
        repeated = {name: n for name, n in checks.calls_per_module(model, x).items() if n > 1}
        if repeated:
            name, n = next(iter(repeated.items()))
            raise Incorrect(f"`{name}` runs {n} times in one forward: the trunk is computed once, "
                            "`features = self.trunk(x)`, and both heads read that same `features`.")
        copy_weights_by_shape(model, reference)
        ref_scores, ref_value = reference(x)
        if not (same(scores, ref_scores) and same(value, ref_value)):
            raise Incorrect("Same layers, different outputs than the reference: the trunk is "
                            "Linear followed by ReLU, and each head is a single Linear.")


q3 = TwoHeads()
TwoHeadReference = q3.solution_object()
