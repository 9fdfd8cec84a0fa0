"""Exercises of lesson 05 (branching): channel arithmetic, a fork joined by cat, two heads, and
debugging a two-input network one of whose branches never learns.

q2 to q4 are ``ModuleWithCopiedWeights`` (``kinds``): the student's class is built on the answer's
side, checked for structure and for its first output (``refuse``, as data), then the reference's
weights are copied in (by shape, so any spelling passes) and the outputs compared on the check's
hidden inputs. What PyTorch raises for a join along the wrong dimension is said in the course's
words (``raised``). q1 asks for a value: a ``ValueAnswer``, its wrong shapes as data.
"""

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Incorrect
from course_utils.exercises.kinds import Mistake, ModuleWithCopiedWeights, Raised, ValueAnswer
from course_utils.probes.client import Answer


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


class ForkShape(ValueAnswer):
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
    # a tuple, list or torch.Size arrives as plain data (an int subclass as the int it is); got: (b, c, h, w)
    refuse = [Mistake(lambda s: "Give the shape as four integers (batch, channels, height, width), for example "
                                f"(2, 1, 32, 32); you gave {_given(s.answer)}.",
                      when=lambda s: type(s.got) not in (tuple, list) or len(s.got) != 4
                      or not all(type(n) is int for n in s.got))]
    mistakes = [
        Mistake("Batch size {got[0]}: convolutions and cat along dim=1 never change the batch, it stays "
                "{expected[0]}.", when=lambda s: s.got[0] != s.expected[0]),
        Mistake("{got[1]} channels counts the three branches but not `x` itself: torch.cat also receives the input, "
                "which brings 3 channels.", when=lambda s: s.got[1] == s.expected[1] - 3),
        Mistake("16 is the widest branch; cat does not take the largest, it puts the tensors side by side, so the "
                "channel counts add up.", when=lambda s: s.got[1] == 16),
        Mistake("{got[1]} channels is not right: cat along dim=1 adds the channel counts of all four tensors it "
                "joins.", when=lambda s: s.got[1] != s.expected[1]),
    ]
    otherwise = ("Height and width {got[2]}×{got[3]}: each convolution uses padding = kernel_size // 2, and "
                 "(32 + 2·padding − kernel) + 1 = 32.")

    def reference_answer(self):
        return (2, 3 + 8 + 16 + 4, 32, 32)

    def expected(self):
        return tuple(ThreeWayFork()(torch.zeros(2, 3, 32, 32)).shape)

    def reads(self, seen):
        return tuple(seen.got)


def _given(answer: Answer) -> str:
    """The answer as the student wrote it, where it is plain data (else what kind of thing it is)."""
    value = answer.info.get("value") if answer.kind in ("value", "tensor") else None
    if value is None:
        return checks.kind_of(answer)
    if answer.type_name == "Size" and type(value) is tuple:
        return f"torch.Size({list(value)!r})"
    return repr(value)


q1 = ForkShape()


# --- what a join along the wrong dimension raises, in the course's words ----------------------

def _rows(error) -> str:
    """The rows a Linear layer received, read from PyTorch's 'mat1 and mat2 shapes' message."""
    return str(error).split("(", 1)[1].split("x", 1)[0]


def joined_wrong(head_advice) -> list:
    """The ``raised`` of a branching model; ``head_advice(seen)`` says what the layer after the join reads."""
    return [
        Raised(lambda s: f"The head received {_rows(s.error)} rows for a batch of {s.args[0].shape[0]}: "
                         "`torch.cat(..., dim=0)` stacks the samples of both branches. Join along dim=1, the features.",
               (RuntimeError,), when=lambda error, s: "mat1 and mat2 shapes cannot be multiplied" in str(error)
               and _rows(error) == str(2 * s.args[0].shape[0])),
        Raised(lambda s: f"A layer cannot read the features it receives: {head_advice(s)}.", (RuntimeError,),
               when=lambda error, s: "mat1 and mat2 shapes cannot be multiplied" in str(error)),
        Raised("torch.cat refused the branches: every size except the joined dimension must match. The samples are "
               "dim 0 and the features dim 1: join along dim=1.", (RuntimeError,),
               when=lambda error, s: "Sizes of tensors must match" in str(error)),
    ]


def _count(s) -> tuple[int, int]:
    """(the answer's registered parameters, the reference's)."""
    return checks.parameter_count(s.model), checks.parameter_count(s.reference)


def _linears(model) -> list[tuple[int, int]]:
    """(in_features, out_features) of each registered ``nn.Linear`` of the answer's model."""
    return [(e.settings.get("in_features"), e.settings.get("out_features"))
            for _, e in checks.modules_of_type(model, nn.Linear)]


NO_CAT = Mistake("Your forward does not join the branches with torch.cat (no cat in the autograd graph of the output).",
                 when=lambda s: "CatBackward0" not in s.first().ops)


# --- q2 ---------------------------------------------------------------------------------

def _head_width(s) -> str | None:
    """What is wrong with the layer after the join, or None: some Linear must read hidden1 + hidden2."""
    _, hidden1, hidden2, out_features = s.sizes
    layers = _linears(s.model)
    if any(layer_in == hidden1 + hidden2 for layer_in, _ in layers):
        return None
    narrow = [layer_in for layer_in, layer_out in layers if layer_out == out_features]
    if narrow:
        return (f"With TwoBranchNet{s.sizes} your last layer has in_features={narrow[0]}, but the concatenation "
                f"carries {hidden1} + {hidden2} = {hidden1 + hidden2} features: the head must read both branches.")
    return (f"No nn.Linear reads {hidden1} + {hidden2} = {hidden1 + hidden2} features: the layer after torch.cat "
            "needs in_features = hidden1 + hidden2.")


class TwoBranchNet(ModuleWithCopiedWeights):
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
    # the notebook draws TwoBranchNet(6, 5, 7, 3); the second size set catches widths typed in as numbers
    sizes = [(6, 5, 7, 3), (4, 9, 2, 5)]
    requires = ()
    refuse = [
        Mistake(_head_width, when=lambda s: _head_width(s) is not None),
        Mistake(lambda s: f"Your module has {_count(s)[0]} parameters, the network described has {_count(s)[1]}: two "
                          f"Linear layers that both read the {s.sizes[0]} input features, and one head.",
                when=lambda s: _count(s)[0] != _count(s)[1]),
        Mistake(lambda s: f"For an input of shape (4, {s.sizes[0]}) the output should have shape (4, {s.sizes[3]}); "
                          f"yours is {s.shape if s.shape is not None else checks.type_name(s.got)}.",
                when=lambda s: s.first() and s.shape != (4, s.sizes[3])),
        NO_CAT,
    ]
    mistakes = [Mistake("Your branches are joined in the other order: torch.cat([branch1, branch2], dim=1) puts "
                        "branch 1's features first.",
                        result=lambda ref, x: ref.head(torch.cat([ref.branch2(x), ref.branch1(x)], dim=1)))]
    otherwise = ("Same layers, different output than the reference: check the activations (ReLU after branch 1's "
                 "Linear, Tanh after branch 2's) and that both branches read the original x.")
    raised = joined_wrong(lambda s: f"it reads hidden1 + hidden2 = {s.sizes[1] + s.sizes[2]} features")

    def inputs(self, in_features, *_):
        return (checks.hidden_input(4, in_features, seed=52),)


q2 = TwoBranchNet()


# --- q3 ---------------------------------------------------------------------------------

def _outputs(s) -> list:
    got = s.first() and s.got
    return list(got) if type(got) in (tuple, list) and len(got) == 2 else []


def _shapes(s) -> tuple:
    return tuple(tuple(out.shape) for out in _outputs(s))


def _repeated(s) -> dict:
    return {name: n for name, n in s.first().calls.items() if type(n) is int and n > 1}


class TwoHeads(ModuleWithCopiedWeights):
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
    sizes = [(8, 16, 4)]
    requires = ()
    refuse = [
        Mistake(lambda s: f"forward returned {f'one tensor of shape {s.shape}' if s.shape else checks.type_name(s.got)}"
                          "; return two tensors: `return scores, value`.", when=lambda s: not _outputs(s)),
        Mistake(lambda s: f"Expected the first output of forward to be a tensor, got {checks.kind_of(s.got[0])}.",
                when=lambda s: type(s.got[0]) is not torch.Tensor),
        Mistake(lambda s: f"Expected the second output of forward to be a tensor, got {checks.kind_of(s.got[1])}.",
                when=lambda s: type(s.got[1]) is not torch.Tensor),
        Mistake(lambda s: f"The outputs come in the other order: first the class scores (5, {s.sizes[2]}), then the "
                          "value (5, 1).", when=lambda s: _shapes(s) == ((5, 1), (5, s.sizes[2]))),
        Mistake("The value has shape (5,): keep the feature dimension, (5, 1); do not squeeze it.",
                when=lambda s: _shapes(s)[1] == (5,)),
        Mistake(lambda s: f"For a (5, {s.sizes[0]}) input the outputs should have shapes (5, {s.sizes[2]}) and (5, 1); "
                          f"yours are {_shapes(s)[0]} and {_shapes(s)[1]}.",
                when=lambda s: _shapes(s) != ((5, s.sizes[2]), (5, 1))),
        Mistake(lambda s: f"{_count(s)[0]} parameters instead of {_count(s)[1]}: each head has its own trunk. Compute "
                          "the trunk once and feed it to both heads.",
                when=lambda s: _count(s)[0] - _count(s)[1] == s.sizes[0] * s.sizes[1] + s.sizes[1]),
        Mistake(lambda s: f"Your module has {_count(s)[0]} parameters, the network described has {_count(s)[1]}.",
                when=lambda s: _count(s)[0] != _count(s)[1]),
        Mistake(lambda s: "`{}` runs {} times in one forward: the trunk is computed once, `features = self.trunk(x)`, "
                          "and both heads read that same `features`.".format(*next(iter(_repeated(s).items()))),
                when=_repeated),
    ]
    otherwise = ("Same layers, different outputs than the reference: the trunk is Linear followed by ReLU, and each "
                 "head is a single Linear.")
    raised = joined_wrong(lambda s: f"both heads read the {s.sizes[1]} features of the trunk: "
                                    "`nn.Linear(hidden, n_classes)` and `nn.Linear(hidden, 1)`")

    def inputs(self, in_features, *_):
        return (checks.hidden_input(5, in_features, seed=53),)

    def same(self, got, expected):
        return type(got) in (tuple, list) and len(got) == 2 and all(map(checks.close, got, expected))


q3 = TwoHeads()


# --- q4 (debugging) ------------------------------------------------------------------------

class SilentBranchDebug(ModuleWithCopiedWeights):
    id = "lesson05.q4"
    points = 2
    title = "Debug: branch b never learns"
    why = ("Autograd records only what runs outside `torch.no_grad()`: a layer used inside it still computes, "
           "but no gradient ever comes back to it. Inputs need no gradient; the layers that read them do.")
    hints = [
        "Follow the gradient backwards from the scores: `course_utils.draw_autograd(broken(a, b), "
        "params=dict(broken.named_parameters()))` draws every parameter a gradient can reach. Which are "
        "missing, and where does their path stop?",
        "branch b's layers do run (the scores change when `b` changes), but autograd never recorded them: "
        "something in `forward` switches the recording off around them.",
        "Inside `with torch.no_grad():` nothing is recorded, the parameters' operations included. The inputs "
        "need no gradient, but the layers that read them do: compute branch b outside that block.",
    ]
    # two sets of sizes, so nothing hard-coded for the notebook's (4, 6, 8, 3) passes
    sizes = [(4, 6, 8, 3), (5, 3, 7, 2)]
    requires = ()
    refuse = [
        Mistake(lambda s: f"Expected the output of SensorNet{s.sizes} for 5 samples to be a tensor, got "
                          f"{checks.kind_of(s.got)}.", when=lambda s: s.first() and type(s.got) is not torch.Tensor),
        Mistake(lambda s: f"The output of SensorNet{s.sizes} for 5 samples has shape {s.shape}; expected "
                          f"{(5, s.sizes[3])}.", when=lambda s: s.shape != (5, s.sizes[3])),
        Mistake(lambda s: f"SensorNet{s.sizes} should have {_count(s)[1]} parameters (Linear({s.sizes[0]}, "
                          f"{s.sizes[2]}) reading `a`, Linear({s.sizes[1]}, {s.sizes[2]}) reading `b` and a head "
                          f"reading {2 * s.sizes[2]} features); yours has {_count(s)[0]}. "
                          f"Where yours are: {checks.parameter_breakdown(s.model)}.",
                when=lambda s: _count(s)[0] != _count(s)[1]),
        Mistake("Your scores are cut off from autograd: no gradient can go back from them to any layer, so training "
                "could never change anything.", when=lambda s: not s.first().connected),
        NO_CAT,
    ]
    mistakes = [Mistake("Your branches are joined in the other order: branch a's features first, then branch b's.",
                        result=lambda ref, a, b: ref.head(torch.cat([ref.branch_b(b), ref.branch_a(a)], dim=1)))]
    otherwise = ("Same layers, different scores: each branch is its Linear followed by a ReLU, branch a reads `a`, "
                 "branch b reads `b`, and the head reads both joined.")
    raised = joined_wrong(lambda s: f"each branch gives {s.sizes[2]} features and `torch.cat` along dim=1 puts them "
                                    f"side by side: the head reads {2 * s.sizes[2]}")

    def inputs(self, a_features, b_features, *_):
        return checks.hidden_input(5, a_features), checks.hidden_input(5, b_features, seed=99)

    def matched(self, seen):
        """The scores are right: one backward pass from them must reach every parameter."""
        gradient = checks.hidden_input(5, seen.sizes[3], seed=7)
        with checks.worded(seen.model, "the backward pass through your model", dims=checks.dims_of(seen.args)):
            grads = seen.model.run(*seen.args, backward=gradient).grads
        silent = [name for name, grad in grads.items()
                  if type(grad) is not torch.Tensor or float(grad.abs().sum()) == 0.0]
        if silent:
            one = len(silent) == 1
            raise Incorrect(f"Your scores are right, but after one backward pass from them "
                            f"{', '.join(f'`{name}`' for name in silent)} {'has' if one else 'have'} no gradient: "
                            f"training could never change {'it' if one else 'them'}. Every layer of SensorNet must "
                            "learn.")


q4 = SilentBranchDebug()

# The references are the solutions' own code (so a check measures against what `solution()`
# shows), built on first use: this module is public and imports where no solution is installed.
_REFERENCES = {"TwoBranchReference": q2, "TwoHeadReference": q3, "SensorReference": q4}


def __getattr__(name):
    if name in _REFERENCES:
        return _REFERENCES[name].solution_object()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
