"""Exercises of lesson 05 (branching): channel arithmetic, a fork joined by cat, two heads, and
debugging a two-input network one of whose branches never learns.

Each check reaches the answer through probes (``course_utils.probes``): it builds the student's
class on the answer's side, runs it on the check's own inputs, and compares what comes back with
a reference computed here. Behaviour is compared after copying the reference's weights into the
student's module (by shape, not by attribute name or registration order, so any correct spelling
passes); structure is read from the module tree (parameters, which layers run) and from the
autograd ops behind the output (a ``cat``).
"""

import functools

import torch
from torch import nn

from course_utils.exercises import checks, torch_errors
from course_utils.exercises.checks import copy_weights_by_shape, same
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.probes.client import Answer, BindError, Run


def linears(model: Answer) -> list[tuple[int, int]]:
    """(in_features, out_features) of each registered ``nn.Linear`` (or subclass) of the model, once.

    Read from the module tree: a module with both settings and its own weight of shape
    (out_features, in_features), so a model that merely stores its sizes as attributes is not one.
    """
    seen, found = set(), []
    for entry in model.tree():
        settings = entry.settings
        sizes = (settings.get("in_features"), settings.get("out_features"))
        weight = next((shape for name, shape, _ in entry.parameters if name == "weight"), None)
        if entry.identity in seen or not all(type(n) is int for n in sizes) or weight != [sizes[1], sizes[0]]:
            continue
        seen.add(entry.identity)
        found.append(sizes)
    return found


def run_model(model: Answer, inputs, **options) -> Run:
    """One forward pass of the student's module on the check's inputs (``options`` as ``Answer.run``).

    A call the module cannot accept is worded by ``checks.call``, as in every lesson."""
    if not model.info.get("callable"):
        checks.call(model, *inputs, what="your model")
    try:
        return model.run(*inputs, **options)
    except BindError:
        checks.call(model, *inputs, what="your model")   # raises the course's Incorrect for this signature
        raise


def forward_joined(model: Answer, inputs, head_advice: str, **options) -> Run:
    """Run a branching model; the errors of a join along the wrong dimension become the course's message.

    ``head_advice`` says what the layer after the join must read, for a head that cannot read it;
    any other error PyTorch words its own way is said in the course's (``torch_errors``).
    Returns the ``Run``: its ``value`` is the output, its ``ops`` (with ``ops=True``) the autograd ops.
    """
    batch = inputs[0].shape[0]
    with torch_errors.worded(model, "your model", dims=torch_errors.VECTORS):
        try:
            return run_model(model, inputs, **options)
        except RuntimeError as error:
            text = str(error)
            if "mat1 and mat2 shapes cannot be multiplied" in text:
                rows = text.split("(", 1)[1].split("x", 1)[0]
                if rows == str(2 * batch):
                    raise checks.mistake_in_your_code(
                        error, f"The head received {rows} rows for a batch of {batch}: `torch.cat(..., dim=0)` "
                               "stacks the samples of both branches. Join along dim=1, the features.") from None
                raise checks.mistake_in_your_code(
                    error, f"A layer cannot read the features it receives: {head_advice}.") from None
            if "Sizes of tensors must match" in text:
                raise checks.mistake_in_your_code(
                    error, "torch.cat refused the branches: every size except the joined dimension must match. "
                           "The samples are dim 0 and the features dim 1: join along dim=1.") from None
            raise


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

    def reference_answer(self):
        return (2, 3 + 8 + 16 + 4, 32, 32)

    def check_answer(self, answer):
        expected = tuple(ThreeWayFork()(torch.zeros(2, 3, 32, 32)).shape)
        # a tuple, list or torch.Size arrives as plain data (an int subclass as the int it is)
        shape = answer.info.get("value") if answer.kind == "value" else None
        if type(shape) not in (tuple, list) or len(shape) != 4 \
                or not all(type(n) is int for n in shape):
            raise Incorrect("Give the shape as four integers (batch, channels, height, width), "
                            f"for example (2, 1, 32, 32); you gave {_given(answer)}.")
        batch, channels, height, width = shape
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


def _given(answer: Answer) -> str:
    """The answer as the student wrote it, where it is plain data (else what kind of thing it is)."""
    value = answer.info.get("value") if answer.kind in ("value", "tensor") else None
    if value is None:
        return checks.kind_of(answer)
    if answer.type_name == "Size" and type(value) is tuple:
        return f"torch.Size({list(value)!r})"
    return repr(value)


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
    # the notebook draws TwoBranchNet(6, 5, 7, 3); the second size set catches widths typed in as numbers
    cases = [(6, 5, 7, 3), (4, 9, 2, 5)]

    def check_answer(self, answer):
        for sizes in self.cases:
            self._check_one(answer, sizes)

    def _check_one(self, answer, sizes):
        in_features, hidden1, hidden2, out_features = sizes
        model = checks.instantiate(answer, *sizes)
        layers = linears(model)
        if not any(layer_in == hidden1 + hidden2 for layer_in, _ in layers):
            narrow = [layer_in for layer_in, layer_out in layers if layer_out == out_features]
            if narrow:
                raise Incorrect(
                    f"With TwoBranchNet{sizes} your last layer has in_features={narrow[0]}, "
                    f"but the concatenation carries {hidden1} + {hidden2} = {hidden1 + hidden2} "
                    "features: the head must read both branches.")
            raise Incorrect(f"No nn.Linear reads {hidden1} + {hidden2} = {hidden1 + hidden2} "
                            "features: the layer after torch.cat needs in_features = hidden1 + hidden2.")
        reference = q2.solution_object()(*sizes)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            raise Incorrect(f"Your module has {found} parameters, the network described has "
                            f"{expected}: two Linear layers that both read the {in_features} input "
                            "features, and one head.")
        x = torch.randn(4, in_features)
        advice = f"it reads hidden1 + hidden2 = {hidden1 + hidden2} features"
        run = forward_joined(model, (x,), advice, ops=True)
        out = run.value
        if not isinstance(out, torch.Tensor) or out.shape != (4, out_features):
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else checks.type_name(out)
            raise Incorrect(f"For an input of shape (4, {in_features}) the output should have shape "
                            f"(4, {out_features}); yours is {shape}.")
        if "CatBackward0" not in checks.autograd_ops(run):
            raise Incorrect("Your forward does not join the branches with torch.cat "
                            "(no cat in the autograd graph of the output).")
        # the reference's weights go into the student's layers; its output is computed here
        copy_weights_by_shape(reference, model)
        out = forward_joined(model, (x,), advice).value
        with torch.no_grad():
            if same(out, reference(x)):
                return
            swapped = swapped_two_branch()(*sizes)
            swapped.load_state_dict(reference.state_dict())
            if same(out, swapped(x)):
                raise Incorrect("Your branches are joined in the other order: torch.cat([branch1, "
                                "branch2], dim=1) puts branch 1's features first.")
        raise Incorrect("Same layers, different output than the reference: check the "
                        "activations (ReLU after branch 1's Linear, Tanh after branch 2's) and "
                        "that both branches read the original x.")


q2 = TwoBranchNet()


@functools.cache
def swapped_two_branch():
    """A common slip: the branches joined in the other order (the reference, subclassed; built
    on first use, where the solutions are installed)."""

    class SwappedTwoBranch(q2.solution_object()):
        def forward(self, x):
            return self.head(torch.cat([self.branch2(x), self.branch1(x)], dim=1))

    return SwappedTwoBranch


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
    sizes = (8, 16, 4)

    def check_answer(self, answer):
        in_features, hidden, n_classes = self.sizes
        model = checks.instantiate(answer, *self.sizes)
        x = torch.randn(5, in_features)
        advice = (f"both heads read the {hidden} features of the trunk: "
                  f"`nn.Linear(hidden, n_classes)` and `nn.Linear(hidden, 1)`")
        out = forward_joined(model, (x,), advice).value
        if isinstance(out, torch.Tensor) or not isinstance(out, (tuple, list)) or len(out) != 2:
            what = f"one tensor of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) \
                else f"{checks.type_name(out)}"
            raise Incorrect(f"forward returned {what}; return two tensors: "
                            "`return scores, value`.")
        scores = checks.expect_tensor(out[0], "the first output of forward")
        value = checks.expect_tensor(out[1], "the second output of forward")
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
        reference = q3.solution_object()(*self.sizes)
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
        # the reference's weights go into the student's layers; its outputs are computed here
        copy_weights_by_shape(reference, model)
        out = forward_joined(model, (x,), advice).value
        scores, value = out if isinstance(out, (tuple, list)) and len(out) == 2 else (None, None)
        with torch.no_grad():
            ref_scores, ref_value = reference(x)
        if not (same(scores, ref_scores) and same(value, ref_value)):
            raise Incorrect("Same layers, different outputs than the reference: the trunk is "
                            "Linear followed by ReLU, and each head is a single Linear.")


q3 = TwoHeads()


# --- q4 (debugging) ------------------------------------------------------------------------

class SilentBranchDebug(Exercise):
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
    cases = [(4, 6, 8, 3), (5, 3, 7, 2)]

    def check_answer(self, answer):
        for sizes in self.cases:
            self._check_one(checks.instantiate(answer, *sizes), sizes)

    def _check_one(self, model, sizes):
        a_features, b_features, hidden, n_classes = sizes
        batch = 5
        head_advice = (f"each branch gives {hidden} features and `torch.cat` along dim=1 puts them side by side: "
                       f"the head reads {2 * hidden}")
        a, b = checks.hidden_input(batch, a_features), checks.hidden_input(batch, b_features, seed=99)
        run = forward_joined(model, (a, b), head_advice, ops=True)
        checks.expect_shape(run.value, (batch, n_classes), f"the output of SensorNet{sizes} for {batch} samples")
        reference = q4.solution_object()(*sizes)
        expected, found = checks.parameter_count(reference), checks.parameter_count(model)
        if found != expected:
            raise Incorrect(f"SensorNet{sizes} should have {expected} parameters (Linear({a_features}, {hidden}) "
                            f"reading `a`, Linear({b_features}, {hidden}) reading `b` and a head reading "
                            f"{2 * hidden} features); yours has {found}. "
                            f"Where yours are: {checks.parameter_breakdown(model)}.")
        if not run.connected:
            raise Incorrect("Your scores are cut off from autograd: no gradient can go back from them to any layer, "
                            "so training could never change anything.")
        if "CatBackward0" not in checks.autograd_ops(run):
            raise Incorrect("Your forward does not join the branches with torch.cat "
                            "(no cat in the autograd graph of the output).")

        def output():
            """The student's scores with the weights copied in so far (the reference's, paired by shape)."""
            return checks.plain(forward_joined(model, (a, b), head_advice, no_grad=True).value)

        with torch.no_grad():
            wanted = reference(a, b)
            if not checks.copy_weights_until(reference, model, lambda: same(output(), wanted)):
                swapped = reference.head(torch.cat([reference.branch_b(b), reference.branch_a(a)], dim=1))
                if same(output(), swapped):
                    raise Incorrect("Your branches are joined in the other order: branch a's features first, "
                                    "then branch b's.")
                raise Incorrect("Same layers, different scores: each branch is its Linear followed by a ReLU, "
                                "branch a reads `a`, branch b reads `b`, and the head reads both joined.")
        gradient = checks.hidden_input(batch, n_classes, seed=7)
        with torch_errors.worded(model, "the backward pass through your model", dims=torch_errors.VECTORS):
            grads = model.run(a, b, backward=gradient).grads
        silent = [name for name, grad in grads.items()
                  if type(grad) is not torch.Tensor or float(grad.abs().sum()) == 0.0]
        if silent:
            names = ", ".join(f"`{name}`" for name in silent)
            raise Incorrect(f"Your scores are right, but after one backward pass from them {names} "
                            f"{'has' if len(silent) == 1 else 'have'} no gradient: training could never change "
                            f"{'it' if len(silent) == 1 else 'them'}. Every layer of SensorNet must learn.")


q4 = SilentBranchDebug()

# The references are the solutions' own code (so a check measures against what `solution()`
# shows), built on first use: this module is public and imports where no solution is installed.
_REFERENCES = {"TwoBranchReference": q2, "TwoHeadReference": q3, "SensorReference": q4}


def __getattr__(name):
    if name in _REFERENCES:
        return _REFERENCES[name].solution_object()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
