"""Exercises of lesson 02 (your own nn.Module): a three-layer network, a plain list of one repeated
layer fixed, an autoencoder whose decoder shares the encoder's weight, an initialisation function
for two kinds of layer, and a model whose parameters the optimizer never sees (debugging).

The checks build the student's class on its own side and reach it only through probes
(``course_utils.probes``): they look at what is registered (parameters, layers hidden
in plain lists), copy a reference's weights in and compare outputs and gradients on hidden
inputs; when something differs they try the usual mistakes and name the one they see.

``q1`` (a ``ModuleWithCopiedWeights``) and ``q2`` (a ``DebugModel``) are declared with the kinds
(``kinds``): sizes, structure requirements, the stack's usual mistakes and their messages, as data,
on one ``StackOfLinears`` whose ``matched`` adds what outputs cannot show (hooks, autograd). ``q3`` to
``q5`` stay plain exercises: each reads the answer in a way the kinds do not cover (a bias as built,
a summed gradient, ``model.apply`` on a model built on the answer's side, one optimizer step).
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from course_utils.exercises import checks, torch_errors
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds import (DebugModel, Layers, Mistake, ModuleWithCopiedWeights, OutputDiffers,
                                          Requirement, SameParameterCount, Symptom)


def parameter_shape(entry, name: str = "weight"):
    """The shape of one of a layer's own parameters (a ``ModuleEntry``), or None."""
    return next((tuple(shape) for n, shape, _ in entry.parameters if n == name), None)


def full_name(entry, name: str) -> str:
    return f"{entry.name}.{name}" if entry.name else name


def mlp(x, layers, relu_after_last=False, relu_positions=None):
    """The forward pass of a stack of Linear layers with ReLU between them (for diagnosis)."""
    last = len(layers) - 1
    positions = set(range(last)) if relu_positions is None else set(relu_positions)
    if relu_after_last:
        positions.add(last)
    for i, layer in enumerate(layers):
        x = layer(x)
        if i in positions:
            x = torch.relu(x)
    return x


def run_counting_calls(model, x):
    """``model(x)`` and how many Linear calls its hooks saw (a layer called as ``.forward`` is not seen)."""
    output = []
    counts = checks.calls_per_module(model, x, output=output)
    linears = {name for name, _ in checks.modules_of_type(model, nn.Linear)}
    return checks.plain(output[0]), sum(n for name, n in counts.items() if name in linears)


HOOKS_SKIPPED = ("Some layers ran without their hooks: call a layer as `self.layer(x)`, never "
                 "`self.layer.forward(x)` (hooks, shape tables and many tools only see the first).")


def forward_failed(error, model, x, what: str, advice: str):
    """The course's message for a PyTorch error raised by the answer's forward, or the error itself."""
    if isinstance(error, NotImplementedError):   # a stub (or a module without forward): said by the engine
        return error
    return torch_errors.explain(error, model, f"{what}, run on an input of shape {tuple(x.shape)},", advice,
                                dims=torch_errors.VECTORS) or error


def _linears(reference: nn.Sequential) -> list:
    return [layer for layer in reference if isinstance(layer, nn.Linear)]


def reference_stack(*sizes) -> nn.Sequential:
    """The check's own Linear → ReLU → ... → Linear through ``sizes`` (features in, ..., out)."""
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


# the usual deviations from Linear → ReLU → ... → Linear, as the results they compute
STACK_MISTAKES = [
    Mistake("Your output goes through a ReLU at the end, so it can never be negative: the last layer's output is "
            "returned as it is.", result=lambda r, x: mlp(x, _linears(r), relu_after_last=True)),
    Mistake("No ReLU between the layers: without it, stacked Linear layers collapse into one linear map. Apply a "
            "ReLU after every layer but the last.", result=lambda r, x: mlp(x, _linears(r), relu_positions=())),
    Mistake("A ReLU is missing after one of the hidden layers: apply one after every layer but the last.",
            when=lambda s: len(layers := _linears(s.reference)) > 2 and any(
                checks.close(s.got, s.known(lambda r, x: mlp(x, layers, relu_positions=[i])))
                for i in range(len(layers) - 1))),
]


class StackOfLinears(ModuleWithCopiedWeights):
    """A stack of Linear layers with ReLU between them, compared with ``reference_stack`` (weights copied);
    once the outputs agree, every layer must have run through its hooks and the output stay trainable."""

    what = "your model's output"

    def matched(self, seen):
        run = seen.model.run(*seen.args, calls=True)
        linears = {name for name, _ in checks.modules_of_type(seen.model, nn.Linear)}
        if sum(n for name, n in run.calls.items() if name in linears) < len(_linears(seen.reference)):
            raise Incorrect(HOOKS_SKIPPED)
        checks.expect_connected_to_graph(run, self.what)


@dataclass(frozen=True)
class LayersInOrder(Requirement):
    """The Linear layers, in the order ``__init__`` creates them, map the reference's sizes in turn."""

    def check(self, model, reference):
        mine, wanted = [entry for _, entry in checks.modules_of_type(model, nn.Linear)], _linears(reference)
        if [parameter_shape(m) for m in mine] != [tuple(layer.weight.shape) for layer in wanted]:
            shapes = ", ".join(f"Linear({m.settings.get('in_features')} → {m.settings.get('out_features')})"
                               for m in mine)
            expected = ", ".join(f"Linear({layer.in_features} → {layer.out_features})" for layer in wanted)
            raise Incorrect(f"Your layers, in the order `__init__` creates them, are {shapes}; expected {expected}.")


# --- q1 ---------------------------------------------------------------------------------

class ThreeLayerNet(StackOfLinears):
    id = "lesson02.q1"
    points = 2
    title = "Write a three-layer network as an nn.Module"
    why = ("`__init__` registered three layers and `forward` wired them: the same two steps build "
           "every model in this course, however it branches.")
    hints = [
        "In `__init__`: call `super().__init__()`, then create three `nn.Linear` layers as attributes: "
        "in → hidden, hidden → hidden, hidden → out. In `forward`: layer, ReLU, layer, ReLU, layer.",
        "Mirror `MySimpleStack` from the lesson with one more hidden layer; the last layer has no ReLU "
        "after it. Call layers as `self.fc1(x)`.",
    ]
    sizes = [(6, 8, 3), (10, 20, 5)]
    requires = [SameParameterCount(), Layers(nn.Linear, count=3), LayersInOrder()]
    mistakes = STACK_MISTAKES
    what = "your network's output"
    otherwise = OutputDiffers(what)
    subject = staticmethod(lambda s: f"your network, run on an input of shape {tuple(s.args[0].shape)},")
    advice = ("`forward` runs the layers in the order `__init__` creates them, each on the previous one's output: "
              "in → hidden, hidden → hidden, hidden → out.")

    def reference(self, n_in, hidden, n_out):
        return reference_stack(n_in, hidden, hidden, n_out)

    def inputs(self, n_in, hidden, n_out):
        return (checks.hidden_input(7, n_in),)


# --- q2 ---------------------------------------------------------------------------------

BROKEN_DEEP_STACK = '''
class DeepStack(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layers = [nn.Linear(width, width)] * depth     # depth layers

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x
'''.strip("\n")


def _one_layer_for_many(seen) -> str:
    """Which of the three ways to end up with one layer's weights for ``depth`` steps this is,
    read from the module tree (a module listed under several names has one identity) and the
    parameters (a shallow copy is a new module around the same parameters)."""
    model, (width, depth) = seen.model, seen.sizes
    one_layer = width * width + width
    said = f"`DeepStack({width}, {depth})` registers one layer's parameters ({one_layer}) for {depth} layers"
    entries = [entry for entry in model.tree() if entry.is_a("Linear")]
    modules = {entry.identity for entry in entries}
    if len(modules) > 1:
        return (f"{said}: it holds {len(modules)} different Linear modules, but they share one weight and "
                "one bias. A shallow copy (`copy.copy(layer)`) is a new module around the *same* "
                "parameters, so every step still shares the same weights. Create a new layer for each step, "
                "`nn.Linear(width, width)` on each turn (or `copy.deepcopy(layer)`, which copies the "
                "parameters too).")
    if len(entries) > 1:
        return (f"{said}: `[nn.Linear(width, width)] * depth` is one layer listed {len(entries)} times, so "
                "every step shares the same weights. Create a new layer for each step: "
                "`[nn.Linear(width, width) for _ in range(depth)]`.")
    return (f"{said}: one Linear layer, run {depth} times, so every step shares the same weights. Create "
            f"{depth} layers, each with its own weights: "
            "`nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])`.")


class FixPlainList(DebugModel, StackOfLinears):
    id = "lesson02.q2"
    points = 2
    title = "Fix a stack that keeps its layers in a plain list, built by repeating one layer"
    why = ("Registered layers are trained, moved with `.to()`, saved and counted; a plain list silently loses "
           "all of that, and `[layer] * depth` silently shares one layer. Sharing is a choice, never an accident.")
    hints = [
        "Two things are wrong. `nn.Module` does not look inside a Python list: which container is a list *and* "
        "a module? And `[nn.Linear(width, width)] * depth` is one layer listed `depth` times: count the different "
        "objects with `len({id(layer) for layer in self.layers})`.",
        "`self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])`: a new layer on each "
        "turn of the comprehension. `forward` can stay as it is.",
    ]
    broken = BROKEN_DEEP_STACK
    sizes = [(6, 3), (4, 2), (5, 1)]
    symptoms = [
        Symptom("Your model has no registered parameters. Create the layers once, in `__init__`, inside an "
                "`nn.ModuleList` (layers created in `forward` are new, untrained layers on every call).",
                lambda model, s: checks.parameter_count(model) == 0 and not checks.unregistered_modules(model)),
        Symptom(_one_layer_for_many, lambda model, s: s.sizes[1] > 1 and not checks.unregistered_modules(model)
                and checks.parameter_count(model) == s.sizes[0] * s.sizes[0] + s.sizes[0]),
    ]
    mistakes = STACK_MISTAKES
    otherwise = OutputDiffers("your model's output")
    subject = staticmethod(lambda s: f"your model, run on an input of shape {tuple(s.args[0].shape)},")
    advice = staticmethod(lambda s: f"Every layer of the stack reads and returns {s.sizes[0]} features.")

    def reference(self, width, depth):
        return reference_stack(*[width] * (depth + 1))

    def inputs(self, width, depth):
        return (checks.hidden_input(5, width),)


# --- q3 ---------------------------------------------------------------------------------

class TiedAutoencoder(Exercise):
    id = "lesson02.q3"
    points = 2
    title = "An autoencoder whose decoder reuses the encoder's weight"
    why = ("Parameters belong to modules, not to calls: one weight used by the encoder and (transposed) by "
           "the decoder is counted once, and its gradient adds up the contributions of both uses.")
    hints = [
        "Register one `nn.Linear(features, code)` as the encoder and one `nn.Parameter(torch.zeros(features))` "
        "as the decoder's bias; no second weight. The encoder's weight has shape (code, features).",
        "In `forward`: `h = torch.relu(self.encoder(x))`, then decode with the same weight: "
        "`h @ self.encoder.weight + self.decoder_bias` maps (batch, code) back to (batch, features).",
    ]

    def check_answer(self, answer):
        for features, code in [(8, 3), (5, 2)]:
            model = checks.instantiate(answer, features, code)
            self._expect_parameters(model, features, code)
            reference = self.reference_answer()(features, code)
            nn.init.normal_(reference.decoder_bias)   # a zero bias would hide a forgotten one
            checks.copy_weights(reference, model)
            x = checks.hidden_input(4, features)
            self._expect_output(model, reference, x, features, code)
            self._expect_summed_gradient(model, reference, x)

    @staticmethod
    def _expect_parameters(model, features, code):
        one_weight = features * code
        expected = one_weight + code + features
        count = checks.parameter_count(model)
        if count == 0 and not checks.unregistered_modules(model):
            raise Incorrect("Your model has no registered parameters: create the encoder and the decoder's bias in "
                            "`__init__`, not in `forward` (a layer made in `forward` is new and random on every call).")
        if count >= expected + one_weight:
            raise Incorrect(f"Your model registers {count} parameters, {count - expected} too many: the decoder has a "
                            f"weight of its own. Tie it: use the encoder's weight (transposed) in `forward`. A copy "
                            "made in `__init__` is not a tie: the two drift apart at the first training step.")
        if count == expected - features:
            raise Incorrect(f"Your model registers {count} parameters: the decoder's bias ({features} values, one per "
                            "reconstructed feature) is missing. Register it as an `nn.Parameter`.")
        checks.expect_parameter_count(model, expected)
        # as built, before the check copies its own weights in: the decoder's bias starts at zero
        biases = [p for p in checks.unique(model.parameters())
                  if p.value is not None and tuple(p.value.shape) == (features,)]
        if biases and not any(checks.equal(p.value, torch.zeros(features)) for p in biases):
            first = biases[0]
            shown = ", ".join(f"{v:.3g}" for v in first.value[:3].tolist())
            raise Incorrect(f"The decoder's bias `{first.name}` does not start at zero ({shown}, ...): the exercise "
                            "asks for a bias starting at zero, so that the untrained decoder adds no offset of "
                            "its own. Create it with `torch.zeros(features)`.")

    @staticmethod
    def _expect_output(model, reference, x, features, code):
        try:
            got, calls = run_counting_calls(model, x)
        except RuntimeError as error:
            if "cannot be multiplied" not in str(error):
                raise forward_failed(error, model, x, "your model",
                                     f"It maps {features} features to a code of {code} and back.") from None
            raise checks.mistake_in_your_code(
                error, f"Your forward fails: {str(error).splitlines()[0]}. The encoder's weight has shape "
                       f"({code}, {features}) and the code h has shape (batch, {code}), so decoding is "
                       "`h @ self.encoder.weight`: (batch, code) @ (code, features).") from None
        weight, bias = reference.encoder.weight, reference.decoder_bias
        with torch.no_grad():
            h = torch.relu(reference.encoder(x))
            if checks.close(got, reference(x)):
                if calls < 1 and [m for _, m in checks.modules_of_type(model, nn.Linear)]:
                    raise Incorrect(HOOKS_SKIPPED)
                return
            if isinstance(got, torch.Tensor) and tuple(got.shape) == (x.shape[0], code):
                raise Incorrect(f"Your model returns the code h, shape {tuple(got.shape)}: decode it back to "
                                f"{features} features with the encoder's weight.")
            if checks.close(got, reference.encoder(x) @ weight + bias):
                raise Incorrect("The ReLU after the encoder is missing: `h = torch.relu(self.encoder(x))`.")
            if checks.close(got, torch.relu(h @ weight + bias)):
                raise Incorrect("Your output ends with a ReLU; return the decoder's result as it is.")
            if checks.close(got, h @ weight):
                raise Incorrect("The decoder's bias is registered but not added: `h @ self.encoder.weight + bias`.")
        checks.expect_close(got, reference(x).detach(), "your model's output")

    @staticmethod
    def _expect_summed_gradient(model, reference, x):
        checks.expect_connected_to_graph(model.run(x), "your model's output")
        reference.zero_grad()
        output = reference(x)
        output.sum().backward()
        # the gradient of ``output.sum()``, run back through the answer on its side
        grads = model.run(x, backward=torch.ones_like(output.detach())).grads
        weight = next(p for p in checks.unique(model.parameters()) if p.value.dim() == 2)
        grad = grads.get(weight.name)
        if type(grad) is not torch.Tensor:
            raise Incorrect("Your weight gets no gradient: is the output computed under `torch.no_grad()` or detached?")
        if not checks.close(grad, reference.encoder.weight.grad):
            raise Incorrect("The outputs are right but the weight's gradient counts only one of its two uses: "
                            "don't `.detach()` (or copy) the weight in the decoder; use the parameter itself.")


# --- q4 ---------------------------------------------------------------------------------

def init_test_model():
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Conv2d(8, 32, kernel_size=3), nn.BatchNorm2d(32),
                          nn.Linear(64, 32))
    with torch.no_grad():   # not BatchNorm's defaults, so touching it shows
        model[3].weight.uniform_(0.5, 1.5)
        model[3].bias.uniform_(-0.5, 0.5)
    return model


class InitWeights(Exercise):
    id = "lesson02.q4"
    points = 2
    title = "Initialise Linear and Conv2d layers, each its own way, and nothing else"
    why = ("`model.apply(fn)` visits every submodule, so one small function sets up a whole model; the "
           "isinstance checks give each kind of layer its own scheme and keep it from touching the rest.")
    hints = [
        "`model.apply(init_weights)` calls your function on every module, including `ReLU`, `BatchNorm2d` and "
        "the `Sequential` itself. One `if isinstance(module, nn.Linear):` branch, one for `nn.Conv2d`, "
        "nothing for the others.",
        "Linear: `nn.init.xavier_uniform_(module.weight)`; Conv2d: "
        "`nn.init.kaiming_normal_(module.weight, mode=\"fan_out\", nonlinearity=\"relu\")`; both: "
        "`nn.init.zeros_(module.bias)`.",
    ]

    def check_answer(self, init_weights):
        checks.expect_function(init_weights, "init_weights")
        # the same model on both sides: the check keeps its copy as "before", the answer's side
        # runs ``model.apply(init_weights)`` and its parameters are read back afterwards
        model, given = init_weights.session.twin(init_test_model)
        try:
            given.method("apply", init_weights)
        except AttributeError as error:
            if "has no attribute" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, f"`model.apply` calls your function on every module, and one of them has no such attribute "
                       f"({error}). Act only on `nn.Linear` and `nn.Conv2d` (`isinstance`).") from None
        except ValueError as error:
            if "fewer than 2 dimensions" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, f"`model.apply(init_weights)` fails ({error}): Xavier and Kaiming initialisations compute "
                       "their scale from a weight's fan-in and fan-out, so they need a weight (2 or more "
                       "dimensions); a bias is one-dimensional. Give biases `nn.init.zeros_`.") from None
        except RuntimeError as error:
            if "leaf Variable that requires grad" not in str(error):
                raise
            raise checks.mistake_in_your_code(
                error, f"`model.apply(init_weights)` fails ({str(error).splitlines()[0]}): a parameter changed in "
                       "place while autograd records. The `nn.init` functions do it under `torch.no_grad()` for "
                       "you; if you write the values yourself, do it inside `with torch.no_grad():`.") from None
        after = {p.name: p for p in given.parameters()}
        norm_after = [after.get(f"3.{name}") for name, _ in model[3].named_parameters()]
        if not all(b is not None and checks.equal(b.value, a) for a, b in zip(model[3].parameters(), norm_after)):
            raise Incorrect("Your function also changed the BatchNorm2d layer: initialise `nn.Linear` and "
                            "`nn.Conv2d` layers only, and leave every other module as it is.")
        for index in (0, 4):
            name = f"Linear({model[index].in_features} → {model[index].out_features})"
            self._expect_xavier(model[index], *self._weight_and_bias(after, index, name))
        conv = model[2]
        name = f"Conv2d({conv.in_channels} → {conv.out_channels}, kernel {conv.kernel_size[0]})"
        self._expect_kaiming_fan_out(conv, *self._weight_and_bias(after, 2, name), before=conv.weight.detach())

    @staticmethod
    def _weight_and_bias(after, index, name):
        """The layer's weight and bias as the answer's side reports them after ``apply``."""
        found = []
        for part in ("weight", "bias"):
            parameter = after.get(f"{index}.{part}")
            if parameter is None:
                raise Incorrect(f"Your function removed the {part} of {name}: keep `module.{part}` a parameter "
                                "and initialise it with `nn.init`.")
            found.append(parameter)
        return found

    @staticmethod
    def _expect_kaiming_fan_out(conv, weight_parameter, bias_parameter, before):
        name = f"Conv2d({conv.in_channels} → {conv.out_channels}, kernel {conv.kernel_size[0]})"
        weight, bias = weight_parameter.value, bias_parameter.value
        if checks.equal(weight, before):
            raise Incorrect(f"Your function left {name} as it was: give `nn.Conv2d` layers Kaiming-normal weights "
                            "(`mode=\"fan_out\"`) and zero biases.")
        if not (weight_parameter.requires_grad and bias_parameter.requires_grad):
            raise Incorrect(f"Your function froze {name} (`requires_grad=False`): initialising must leave "
                            "the layer trainable.")
        if not checks.equal(bias, torch.zeros_like(bias)):
            raise Incorrect(f"The biases of {name} are not zero: `nn.init.zeros_(module.bias)`.")
        k = conv.kernel_size[0] * conv.kernel_size[1]
        fan_in, fan_out = conv.in_channels * k, conv.out_channels * k
        std, peak = weight.std().item(), weight.abs().max().item()
        if peak <= 2.0 * std:   # a normal sample of this size reaches about 3.5 standard deviations
            raise Incorrect(f"The weights of {name} are uniform (all within ±{peak:.4f}); Kaiming-normal draws them "
                            "from a normal distribution: `nn.init.kaiming_normal_`.")
        target = math.sqrt(2 / fan_out)
        if abs(std - math.sqrt(2 / fan_in)) < 0.1 * math.sqrt(2 / fan_in):
            raise Incorrect(f"The weights of {name} have standard deviation {std:.4f} = sqrt(2 / fan_in): that is "
                            f"Kaiming's default `mode=\"fan_in\"`. The exercise asks for `mode=\"fan_out\"`, "
                            f"sqrt(2 / fan_out) = {target:.4f}.")
        if abs(std - target) > 0.1 * target:
            raise Incorrect(f"The weights of {name} have standard deviation {std:.4f}; Kaiming-normal with "
                            f"`mode=\"fan_out\"` and `nonlinearity=\"relu\"` gives sqrt(2 / fan_out) = {target:.4f}.")

    @staticmethod
    def _expect_xavier(layer, weight_parameter, bias_parameter):
        name = f"Linear({layer.in_features} → {layer.out_features})"
        if not (weight_parameter.requires_grad and bias_parameter.requires_grad):
            raise Incorrect(f"Your function froze {name} (`requires_grad=False`): initialising must leave "
                            "the layer trainable.")
        bias = bias_parameter.value
        if not checks.equal(bias, torch.zeros_like(bias)):
            raise Incorrect(f"The biases of {name} are not zero: `nn.init.zeros_(module.bias)`.")
        weight = weight_parameter.value
        if torch.all(weight == weight.flatten()[0]):
            raise Incorrect(f"All weights of {name} are equal: every unit would compute the same thing and "
                            "get the same gradient. Xavier-uniform draws them at random.")
        bound = math.sqrt(6 / (layer.in_features + layer.out_features))
        target = bound / math.sqrt(3)  # the standard deviation of U(-bound, bound)
        peak, std = weight.abs().max().item(), weight.std().item()
        if peak <= 2.0 * std and abs(std - target) > 0.15 * target:   # uniform (a normal reaches ~3.5 std)
            raise Incorrect(f"The weights of {name} are uniform on about ±{peak:.4f}; Xavier-uniform with the default "
                            f"gain of 1 uses ±sqrt(6 / (fan_in + fan_out)) = ±{bound:.4f}. If you passed `gain=...` "
                            "(or scaled the weights), leave it out: `nn.init.xavier_uniform_(module.weight)`.")
        if weight.abs().max() > bound * (1 + 1e-6):
            raise Incorrect(f"Some weights of {name} exceed the Xavier-uniform bound ±sqrt(6 / (fan_in + fan_out)) "
                            f"= ±{bound:.4f} (largest {weight.abs().max().item():.4f}): use "
                            "`nn.init.xavier_uniform_`, not a normal or Kaiming initialisation.")
        if abs(weight.std().item() - target) > 0.15 * target:
            raise Incorrect(f"The weights of {name} have standard deviation {weight.std().item():.4f}; "
                            f"Xavier-uniform gives about {target:.4f}. Use `nn.init.xavier_uniform_(module.weight)`.")


# --- q5 ---------------------------------------------------------------------------------

BROKEN_SCALED_MLP = '''
class BrokenScaledMLP(nn.Module):
    """Linear(features → hidden) → ReLU → Linear(hidden → features), then each feature
    multiplied by a learned scale that starts at 1."""

    def __init__(self, features, hidden):
        super().__init__()
        self.layers = {"inp": nn.Linear(features, hidden), "out": nn.Linear(hidden, features)}
        self.scale = torch.ones(features)

    def forward(self, x):
        h = torch.relu(self.layers["inp"](x))
        return self.layers["out"].forward(h) * self.scale
'''.strip("\n")


class FixScaledMLP(Exercise):
    id = "lesson02.q5"
    points = 2
    title = "Debug ScaledMLP: an optimizer refuses it, and a shape table misses a layer"
    why = ("Only what is registered is trained, saved and moved: a module in a plain dict and a plain tensor "
           "are invisible to `parameters()`. And only `layer(x)` runs hooks.")
    hints = [
        "Start from what you can see: `list(BrokenScaledMLP(4, 8).parameters())` and "
        "`course_utils.trace_shapes(BrokenScaledMLP(4, 8), torch.randn(2, 4))`. The docstring names three "
        "learned things, two layers and a scale: which of them does each of the two miss?",
        "`nn.Module` registers what you assign to an attribute when it is a module or an `nn.Parameter`: it does "
        "not look inside a plain dict, and a plain tensor is not a parameter. Hooks run when a layer is *called*: "
        "`layer(h)` runs them, `layer.forward(h)` skips them.",
        "`self.layers = nn.ModuleDict({...})`, `self.scale = nn.Parameter(torch.ones(features))`, and "
        "`self.layers[\"out\"](h)` instead of `.forward(h)`.",
    ]

    def check_answer(self, answer):
        for features, hidden in [(4, 8), (6, 3)]:
            model = checks.instantiate(answer, features, hidden)
            listed = f"`ScaledMLP({features}, {hidden}).parameters()`"
            hidden_layers = checks.unregistered_modules(model)
            if hidden_layers:
                raise Incorrect(f"{listed} lists neither Linear layer, so an optimizer would never see "
                                "their weights (and `SGD` refuses a model with no parameters at all). Look at where "
                                f"`__init__` keeps them: `self.{hidden_layers[0]}`.")
            tensors = checks.unregistered_tensors(model)
            if tensors:
                raise Incorrect(f"{listed} lists the layers but not `self.{tensors[0]}`: an optimizer "
                                "would never change it, so the scale stays at 1 however long you train (and "
                                "`state_dict()` does not save it). What kind of tensor is it?")
            if any(tuple(b.shape) == (features,) for b in model.buffers().values()):
                raise Incorrect(f"`ScaledMLP({features}, {hidden})` saves the scale, but `parameters()` does not list it: it "
                                "is a buffer, "
                                "which an optimizer never changes, so the scale never learns.")
            checks.expect_parameter_count(model, 2 * features * hidden + hidden + 2 * features)
            assigned, reference = self._expect_function(model, features, hidden)
            self._expect_training_changes_everything(model, features, assigned, reference)

    @staticmethod
    def _parts(model, features, hidden):
        """The answer's two Linear layers (``ModuleEntry``) and its scale (``Parameter``)."""
        linears = [m for _, m in checks.modules_of_type(model, nn.Linear)]
        inp = next((m for m in linears if parameter_shape(m) == (hidden, features)), None)
        out = next((m for m in linears if parameter_shape(m) == (features, hidden)), None)
        identities = {p.name: p.identity for p in model.parameters()}
        biases = {identities.get(full_name(m, "bias")) for m in linears if parameter_shape(m, "bias") is not None}
        scale = next((p for p in checks.unique(model.parameters())
                      if tuple(p.value.shape) in ((features,), (1, features))
                      and p.identity not in biases), None)
        if inp is None or out is None or scale is None:
            raise Incorrect(f"Expected a Linear({features} → {hidden}), a Linear({hidden} → {features}) and a scale of "
                            f"{features} values; yours registers {checks.parameter_breakdown(model)}.")
        return inp, out, scale

    def _expect_function(self, model, features, hidden):
        """Give the answer the check's weights and scale, compare its output, and see its hooks run.

        Returns the values the check assigned, by parameter name (what "before" training is), and
        the check's own copy of the model they make (what the answer's output must be)."""
        inp, out, scale = self._parts(model, features, hidden)
        if not checks.equal(scale.value, torch.ones_like(scale.value)):
            raise Incorrect("The scale must start at 1 (`torch.ones(features)`), so the untrained model is just the MLP.")
        # the check's own layers and a scale that is not all ones (which would hide a forgotten product)
        first = nn.Linear(features, hidden, bias=parameter_shape(inp, "bias") is not None)
        second = nn.Linear(hidden, features, bias=parameter_shape(out, "bias") is not None)
        scale_value = checks.hidden_input(*scale.value.shape, seed=5)
        assigned = {scale.name: scale_value}
        for entry, layer in ((inp, first), (out, second)):
            assigned.update({full_name(entry, name): p.detach() for name, p in layer.named_parameters()})
        model.assign(assigned)
        def reference(x):
            return second(torch.relu(first(x))) * scale_value

        x = checks.hidden_input(5, features)
        output = []
        try:
            counts = checks.calls_per_module(model, x, output=output)
        except RuntimeError as error:
            raise forward_failed(error, model, x, "your model",
                                 f"The docstring's model maps {features} features to {hidden} and back, then "
                                 f"multiplies each of the {features} outputs by its scale.") from None
        got = checks.plain(output[0])
        with torch.no_grad():
            mlp_only = second(torch.relu(first(x)))
            expected = reference(x)
            if checks.close(got, mlp_only):
                raise Incorrect("Your output is the MLP's alone: multiply it by the scale.")
        checks.expect_close(got, expected, "your model's output")
        skipped = [m.name for m in (inp, out) if not counts.get(m.name)]
        if skipped:
            raise Incorrect(f"`trace_shapes` and every forward hook miss `{skipped[0]}`: your output uses it, but it "
                            "runs without its hooks, so the tools that watch layers (shape tables, hooks that log "
                            "or change outputs) never see it. How does `forward` call it?")
        return assigned, reference

    @staticmethod
    def _expect_training_changes_everything(model, features, assigned, reference):
        """One SGD step (lr 0.1) on a mean squared error: every parameter must move.

        The answer's side runs forward and backward from the loss's gradient (computed here, on
        the output it was shown to produce); the step ``p - 0.1 * grad`` is taken here too, from
        the values the check assigned."""
        x, target = checks.hidden_input(8, features, seed=3), checks.hidden_input(8, features, seed=4)
        checks.expect_connected_to_graph(model.run(x), "your model's output")
        with torch.no_grad():
            gradient = 2 * (reference(x) - target) / target.numel()   # d mean((output - target)^2) / d output
        grads = model.run(x, backward=gradient).grads
        before = dict(assigned)
        if set(grads) - set(before):
            before.update({p.name: p.value for p in model.parameters() if p.name not in before})
        frozen = [name for name, grad in grads.items() if not _moves(before.get(name), grad, lr=0.1)]
        if frozen:
            raise Incorrect(f"After one optimizer step `{frozen[0]}` has not changed: is it frozen "
                            "(`requires_grad=False`) or cut off from the output (`.detach()`)?")


def _moves(value, grad, lr: float) -> bool:
    """True when SGD's step ``value - lr * grad`` changes ``value``."""
    if type(value) is not torch.Tensor or type(grad) is not torch.Tensor or grad.shape != value.shape:
        return False
    return not checks.equal(value.add(grad.to(value.dtype), alpha=-lr), value)


q1 = ThreeLayerNet()
q2 = FixPlainList()
q3 = TiedAutoencoder()
q4 = InitWeights()
q5 = FixScaledMLP()
