"""Exercises of lesson 02 (your own nn.Module): a three-layer network, a plain list of one repeated
layer fixed, an autoencoder whose decoder shares the encoder's weight, an initialisation function
for two kinds of layer, and a model whose parameters the optimizer never sees (debugging).

The checks build the student's class on its own side and reach it only through probes
(``course_utils.probes``): they look at what is registered (parameters, layers hidden
in plain lists), copy a reference's weights in and compare outputs and gradients on hidden
inputs; when something differs they try the usual mistakes and name the one they see.

Every exercise is declared with the kinds (``kinds``): sizes, structure requirements, the usual
mistakes and their messages, as data. ``q1`` (a ``ModuleWithCopiedWeights``) and ``q2`` (a ``DebugModel``)
share one ``StackOfLinears`` whose ``matched`` adds what outputs cannot show (hooks, autograd); ``q3`` is a
``ModuleWithCopiedWeights`` whose known miscounts and a bias as built are refused before the weights go in,
and whose ``matched`` reads the weight's summed gradient; ``q5`` a ``DebugModel`` whose reference follows
the answer's choices (a bias or none, the scale's shape) and whose ``matched`` takes one optimizer step.
``q4`` is called by ``model.apply`` on a model built on the answer's side, not on cases: a plain exercise
whose raised errors and per-layer mistakes (Xavier for each Linear, Kaiming for the conv) are data.
"""

import math
from dataclasses import dataclass

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect
from course_utils.exercises.kinds import (Case, DebugModel, Layers, Mistake, ModuleWithCopiedWeights, OutputDiffers,
                                          Raised, Requirement, SameParameterCount, Seen, Symptom)
from course_utils.exercises.kinds.parts import first_fitting


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


HOOKS_SKIPPED = ("Some layers ran without their hooks: call a layer as `self.layer(x)`, never "
                 "`self.layer.forward(x)` (hooks, shape tables and many tools only see the first).")


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
        if [checks.weight_shape(m) for m in mine] != [tuple(layer.weight.shape) for layer in wanted]:
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

def _count(seen) -> int:
    """The answer's registered parameters, counted once per size set."""
    if "count" not in vars(seen):
        seen.count = checks.parameter_count(seen.model)
    return seen.count


def _one_weight(seen) -> int:
    features, code = seen.sizes
    return features * code


def _tied(seen) -> int:
    """One weight, the encoder's bias and the decoder's: what a tied autoencoder registers."""
    features, code = seen.sizes
    return features * code + code + features


def _miscounted(seen, expected: int) -> str | None:
    """What ``checks.expect_parameter_count`` says of the answer (None: it registers ``expected``)."""
    try:
        checks.expect_parameter_count(seen.model, expected)
    except Incorrect as said:
        return str(said)
    return None


def _biases(seen) -> list:
    """The answer's parameters shaped like the decoder's bias, as built (before any weight is copied in)."""
    return [p for p in checks.unique(seen.model.parameters())
            if p.value is not None and tuple(p.value.shape) == (seen.sizes[0],)]


def _weight_grad(seen):
    """The gradient of ``output.sum()`` on the answer's weight (its 2-D parameter), run back on its side."""
    if "grad" not in vars(seen):
        grads = seen.model.run(*seen.args, backward=torch.ones_like(seen.expected)).grads
        weight = next(p for p in checks.unique(seen.model.parameters()) if p.value.dim() == 2)
        seen.grad = grads.get(weight.name)
    return seen.grad


def _reference_grad(seen) -> torch.Tensor:
    reference = seen.reference
    reference.zero_grad()
    reference(*seen.args).sum().backward()
    return reference.encoder.weight.grad


def _decoded(r, x, relu_first=True):
    return (torch.relu(r.encoder(x)) if relu_first else r.encoder(x)) @ r.encoder.weight + r.decoder_bias


class TiedAutoencoder(ModuleWithCopiedWeights):
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
    sizes = [(8, 3), (5, 2)]
    requires = ()
    # as built, before the check copies its own weights in
    refuse = [
        Mistake("Your model has no registered parameters: create the encoder and the decoder's bias in `__init__`, "
                "not in `forward` (a layer made in `forward` is new and random on every call).",
                when=lambda s: _count(s) == 0 and not checks.unregistered_modules(s.model)),
        Mistake(lambda s: f"Your model registers {_count(s)} parameters, {_count(s) - _tied(s)} too many: the decoder "
                          "has a weight of its own. Tie it: use the encoder's weight (transposed) in `forward`. A copy "
                          "made in `__init__` is not a tie: the two drift apart at the first training step.",
                when=lambda s: _count(s) >= _tied(s) + _one_weight(s)),
        Mistake(lambda s: f"Your model registers {_count(s)} parameters: the decoder's bias ({s.sizes[0]} values, one "
                          "per reconstructed feature) is missing. Register it as an `nn.Parameter`.",
                when=lambda s: _count(s) == _tied(s) - s.sizes[0]),
        Mistake(lambda s: _miscounted(s, _tied(s)), when=lambda s: _miscounted(s, _tied(s))),
        Mistake(lambda s: f"The decoder's bias `{_biases(s)[0].name}` does not start at zero ("
                          f"{', '.join(f'{v:.3g}' for v in _biases(s)[0].value[:3].tolist())}, ...): the exercise asks "
                          "for a bias starting at zero, so that the untrained decoder adds no offset of its own. Create "
                          "it with `torch.zeros(features)`.",
                when=lambda s: _biases(s) and not any(checks.equal(p.value, torch.zeros(s.sizes[0]))
                                                      for p in _biases(s))),
    ]
    raised = [Raised(lambda s: f"Your forward fails: {checks.first_line(s.error)}. The encoder's weight has shape "
                               f"({s.sizes[1]}, {s.sizes[0]}) and the code h has shape (batch, {s.sizes[1]}), so "
                               "decoding is `h @ self.encoder.weight`: (batch, code) @ (code, features).",
                     (RuntimeError,), when=lambda error, s: "cannot be multiplied" in str(error))]
    subject = staticmethod(lambda s: f"your model, run on an input of shape {tuple(s.args[0].shape)},")
    advice = staticmethod(lambda s: f"It maps {s.sizes[0]} features to a code of {s.sizes[1]} and back.")
    mistakes = [
        Mistake(lambda s: f"Your model returns the code h, shape {s.shape}: decode it back to {s.sizes[0]} features "
                          "with the encoder's weight.", when=lambda s: s.shape == (s.args[0].shape[0], s.sizes[1])),
        Mistake("The ReLU after the encoder is missing: `h = torch.relu(self.encoder(x))`.",
                result=lambda r, x: _decoded(r, x, relu_first=False)),
        Mistake("Your output ends with a ReLU; return the decoder's result as it is.",
                result=lambda r, x: torch.relu(_decoded(r, x))),
        Mistake("The decoder's bias is registered but not added: `h @ self.encoder.weight + bias`.",
                result=lambda r, x: torch.relu(r.encoder(x)) @ r.encoder.weight),
    ]
    otherwise = OutputDiffers("your model's output")
    # the outputs agree: what they cannot show, the weight's two uses both reaching its gradient
    trained = [
        Mistake("Your weight gets no gradient: is the output computed under `torch.no_grad()` or detached?",
                when=lambda s: type(_weight_grad(s)) is not torch.Tensor),
        Mistake("The outputs are right but the weight's gradient counts only one of its two uses: don't `.detach()` "
                "(or copy) the weight in the decoder; use the parameter itself.",
                when=lambda s: not checks.close(_weight_grad(s), _reference_grad(s))),
    ]

    def reference(self, features, code):
        reference = self.solution_object()(features, code)
        nn.init.normal_(reference.decoder_bias)   # a zero bias would hide a forgotten one
        return reference

    def inputs(self, features, code):
        return (checks.hidden_input(4, features),)

    def matched(self, seen):
        run = seen.model.run(*seen.args, calls=True)
        linears = {name for name, _ in checks.modules_of_type(seen.model, nn.Linear)}
        if linears and not sum(n for name, n in run.calls.items() if name in linears):
            raise Incorrect(HOOKS_SKIPPED)
        checks.expect_connected_to_graph(run, "your model's output")
        first_fitting(self.trained, seen, prefix="")


# --- q4 ---------------------------------------------------------------------------------

def init_test_model():
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Conv2d(8, 32, kernel_size=3), nn.BatchNorm2d(32),
                          nn.Linear(64, 32))
    with torch.no_grad():   # not BatchNorm's defaults, so touching it shows
        model[3].weight.uniform_(0.5, 1.5)
        model[3].bias.uniform_(-0.5, 0.5)
    return model


def _layer_name(layer) -> str:
    if isinstance(layer, nn.Conv2d):
        return f"Conv2d({layer.in_channels} → {layer.out_channels}, kernel {layer.kernel_size[0]})"
    return f"Linear({layer.in_features} → {layer.out_features})"


# one layer after ``apply``: ``args`` its check's copy as it was before, ``got`` its weight and bias (``Parameter``
# records read back from the answer's side, None where the function removed one), ``case.label`` its name
def _weight(seen) -> torch.Tensor:
    return seen.got["weight"].value


def _std(seen) -> float:
    return _weight(seen).std().item()


def _peak(seen) -> float:
    return _weight(seen).abs().max().item()


def _xavier_bound(seen) -> float:
    layer = seen.args[0]
    return math.sqrt(6 / (layer.in_features + layer.out_features))


def _xavier_std(seen) -> float:
    return _xavier_bound(seen) / math.sqrt(3)   # the standard deviation of U(-bound, bound)


def _kaiming_std(seen, fan: str) -> float:
    """sqrt(2 / fan) for the conv's fan-in or fan-out (channels times the kernel's area)."""
    conv = seen.args[0]
    channels = conv.in_channels if fan == "in" else conv.out_channels
    return math.sqrt(2 / (channels * conv.kernel_size[0] * conv.kernel_size[1]))


LAYER_KEPT = [Mistake(f"Your function removed the {part} of {{label}}: keep `module.{part}` a parameter and "
                      "initialise it with `nn.init`.", when=lambda s, part=part: s.got[part] is None)
              for part in ("weight", "bias")]
FROZEN = Mistake("Your function froze {label} (`requires_grad=False`): initialising must leave the layer trainable.",
                 when=lambda s: not (s.got["weight"].requires_grad and s.got["bias"].requires_grad))
ZERO_BIAS = Mistake("The biases of {label} are not zero: `nn.init.zeros_(module.bias)`.",
                    when=lambda s: not checks.equal(s.got["bias"].value, torch.zeros_like(s.got["bias"].value)))
XAVIER = [
    *LAYER_KEPT, FROZEN, ZERO_BIAS,
    Mistake("All weights of {label} are equal: every unit would compute the same thing and get the same gradient. "
            "Xavier-uniform draws them at random.", when=lambda s: torch.all(_weight(s) == _weight(s).flatten()[0])),
    # uniform (a normal sample of this size reaches about 3.5 standard deviations), on the wrong bound
    Mistake(lambda s: f"The weights of {s.case.label} are uniform on about ±{_peak(s):.4f}; Xavier-uniform with the "
                      f"default gain of 1 uses ±sqrt(6 / (fan_in + fan_out)) = ±{_xavier_bound(s):.4f}. If you passed "
                      "`gain=...` (or scaled the weights), leave it out: `nn.init.xavier_uniform_(module.weight)`.",
            when=lambda s: _peak(s) <= 2.0 * _std(s) and abs(_std(s) - _xavier_std(s)) > 0.15 * _xavier_std(s)),
    Mistake(lambda s: f"Some weights of {s.case.label} exceed the Xavier-uniform bound ±sqrt(6 / (fan_in + fan_out)) "
                      f"= ±{_xavier_bound(s):.4f} (largest {_peak(s):.4f}): use `nn.init.xavier_uniform_`, not a "
                      "normal or Kaiming initialisation.",
            when=lambda s: _weight(s).abs().max() > _xavier_bound(s) * (1 + 1e-6)),
    Mistake(lambda s: f"The weights of {s.case.label} have standard deviation {_std(s):.4f}; Xavier-uniform gives "
                      f"about {_xavier_std(s):.4f}. Use `nn.init.xavier_uniform_(module.weight)`.",
            when=lambda s: abs(_std(s) - _xavier_std(s)) > 0.15 * _xavier_std(s)),
]
KAIMING_FAN_OUT = [
    *LAYER_KEPT,
    Mistake("Your function left {label} as it was: give `nn.Conv2d` layers Kaiming-normal weights "
            "(`mode=\"fan_out\"`) and zero biases.", when=lambda s: checks.equal(_weight(s), s.args[0].weight.detach())),
    FROZEN, ZERO_BIAS,
    Mistake(lambda s: f"The weights of {s.case.label} are uniform (all within ±{_peak(s):.4f}); Kaiming-normal draws "
                      "them from a normal distribution: `nn.init.kaiming_normal_`.",
            when=lambda s: _peak(s) <= 2.0 * _std(s)),
    Mistake(lambda s: f"The weights of {s.case.label} have standard deviation {_std(s):.4f} = sqrt(2 / fan_in): that "
                      "is Kaiming's default `mode=\"fan_in\"`. The exercise asks for `mode=\"fan_out\"`, sqrt(2 / "
                      f"fan_out) = {_kaiming_std(s, 'out'):.4f}.",
            when=lambda s: abs(_std(s) - _kaiming_std(s, "in")) < 0.1 * _kaiming_std(s, "in")),
    Mistake(lambda s: f"The weights of {s.case.label} have standard deviation {_std(s):.4f}; Kaiming-normal with "
                      f"`mode=\"fan_out\"` and `nonlinearity=\"relu\"` gives sqrt(2 / fan_out) = "
                      f"{_kaiming_std(s, 'out'):.4f}.",
            when=lambda s: abs(_std(s) - _kaiming_std(s, "out")) > 0.1 * _kaiming_std(s, "out")),
]


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
    raised = [
        Raised("`model.apply` calls your function on every module, and one of them has no such attribute ({error}). "
               "Act only on `nn.Linear` and `nn.Conv2d` (`isinstance`).", (AttributeError,),
               when=lambda error, s: "has no attribute" in str(error)),
        Raised("`model.apply(init_weights)` fails ({error}): Xavier and Kaiming initialisations compute their scale "
               "from a weight's fan-in and fan-out, so they need a weight (2 or more dimensions); a bias is "
               "one-dimensional. Give biases `nn.init.zeros_`.", (ValueError,),
               when=lambda error, s: "fewer than 2 dimensions" in str(error)),
        Raised("`model.apply(init_weights)` fails ({said}): a parameter changed in place while autograd records. The "
               "`nn.init` functions do it under `torch.no_grad()` for you; if you write the values yourself, do it "
               "inside `with torch.no_grad():`.", (RuntimeError,),
               when=lambda error, s: "leaf Variable that requires grad" in str(error)),
    ]
    # the model after ``apply``, then each layer it must initialise, in turn: Linear, Linear, Conv2d
    untouched = [Mistake("Your function also changed the BatchNorm2d layer: initialise `nn.Linear` and `nn.Conv2d` "
                         "layers only, and leave every other module as it is.",
                         when=lambda s: not all(s.got.get(f"3.{name}") is not None
                                                and checks.equal(s.got[f"3.{name}"].value, value)
                                                for name, value in s.args[0][3].named_parameters()))]
    layers = [(0, XAVIER), (4, XAVIER), (2, KAIMING_FAN_OUT)]

    def check_answer(self, init_weights):
        checks.expect_function(init_weights, "init_weights")
        # the same model on both sides: the check keeps its copy as "before", the answer's side
        # runs ``model.apply(init_weights)`` and its parameters are read back afterwards
        model, given = init_weights.session.twin(init_test_model)
        seen = Seen(self, init_weights, Case(()), (model,))
        try:
            given.method("apply", init_weights)
        except (AttributeError, ValueError, RuntimeError) as error:
            seen.error = error
            said = next((r for r in self.raised if isinstance(error, r.kinds) and r.when(error, seen)), None)
            if said is None:
                raise
            raise checks.mistake_in_your_code(error, seen.say(said.message)) from None
        seen.got = {p.name: p for p in given.parameters()}
        first_fitting(self.untouched, seen, prefix="")
        for index, mistakes in self.layers:
            layer = model[index]
            parts = {part: seen.got.get(f"{index}.{part}") for part in ("weight", "bias")}
            first_fitting(mistakes, Seen(self, init_weights, Case((), label=_layer_name(layer)), (layer,), parts),
                          prefix="")


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


def _parts(model, features: int, hidden: int) -> tuple | None:
    """The answer's two Linear layers (``ModuleEntry``) and its scale (``Parameter``), by shape; None
    where one of them is missing."""
    linears = [m for _, m in checks.modules_of_type(model, nn.Linear)]
    inp = next((m for m in linears if checks.weight_shape(m) == (hidden, features)), None)
    out = next((m for m in linears if checks.weight_shape(m) == (features, hidden)), None)
    identities = {p.name: p.identity for p in model.parameters()}
    biases = {identities.get(full_name(m, "bias")) for m in linears if checks.weight_shape(m, "bias") is not None}
    scale = next((p for p in checks.unique(model.parameters())
                  if tuple(p.value.shape) in ((features,), (1, features)) and p.identity not in biases), None)
    return None if inp is None or out is None or scale is None else (inp, out, scale)


def _found(seen) -> tuple | None:
    """``_parts`` of the answer, as ``reference_for`` read them (once per size set)."""
    return seen.reference.found


def _scaled(parts, x):
    """The check's reference: the docstring's MLP, each output multiplied by its scale."""
    return parts.out(torch.relu(parts.inp(x))) * parts.scale[0]


def _training_batch(seen) -> tuple:
    return checks.hidden_input(8, seen.sizes[0], seed=3), checks.hidden_input(8, seen.sizes[0], seed=4)


def _frozen(seen) -> list:
    """The parameters one SGD step (lr 0.1) on a mean squared error leaves unchanged.

    The answer's side runs forward and backward from the loss's gradient (computed here, from the
    reference's output, which the answer's was shown to equal); the step ``p - 0.1 * grad`` is taken
    here too, from the values the answer holds."""
    x, target = _training_batch(seen)
    with torch.no_grad():
        gradient = 2 * (seen.reference(x) - target) / target.numel()   # d mean((output - target)^2) / d output
    grads = seen.model.run(x, backward=gradient).grads
    before = {p.name: p.value for p in seen.model.parameters()}
    return [name for name, grad in grads.items() if not _moves(before.get(name), grad, lr=0.1)]


def _unhooked(seen) -> list:
    """The answer's two layers that ran without their hooks (called as ``layer.forward(h)``)."""
    counts = checks.calls_per_module(seen.model, *seen.args)
    return [m.name for m in _found(seen)[:2] if not counts.get(m.name)]


def _listed(s) -> str:
    return f"`ScaledMLP({s.sizes[0]}, {s.sizes[1]}).parameters()`"


class FixScaledMLP(DebugModel):
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
    broken = BROKEN_SCALED_MLP
    sizes = [(4, 8), (6, 3)]
    symptoms = [
        Symptom(lambda s: f"{_listed(s)} lists neither Linear layer, so an optimizer would never see their weights "
                          "(and `SGD` refuses a model with no parameters at all). Look at where `__init__` keeps them: "
                          f"`self.{checks.unregistered_modules(s.model)[0]}`.",
                lambda model, s: checks.unregistered_modules(model)),
        Symptom(lambda s: f"{_listed(s)} lists the layers but not `self.{checks.unregistered_tensors(s.model)[0]}`: an "
                          "optimizer would never change it, so the scale stays at 1 however long you train (and "
                          "`state_dict()` does not save it). What kind of tensor is it?",
                lambda model, s: checks.unregistered_tensors(model)),
        Symptom("`ScaledMLP({sizes[0]}, {sizes[1]})` saves the scale, but `parameters()` does not list it: it is a "
                "buffer, which an optimizer never changes, so the scale never learns.",
                lambda model, s: any(tuple(b.shape) == (s.sizes[0],) for b in model.buffers().values())),
    ]
    requires = ()
    # before the check's weights go in: the count, the three learned things, the scale as built
    refuse = [
        Mistake(lambda s: _miscounted(s, 2 * s.sizes[0] * s.sizes[1] + s.sizes[1] + 2 * s.sizes[0]),
                when=lambda s: _miscounted(s, 2 * s.sizes[0] * s.sizes[1] + s.sizes[1] + 2 * s.sizes[0])),
        Mistake(lambda s: f"Expected a Linear({s.sizes[0]} → {s.sizes[1]}), a Linear({s.sizes[1]} → {s.sizes[0]}) and "
                          f"a scale of {s.sizes[0]} values; yours registers {checks.parameter_breakdown(s.model)}.",
                when=lambda s: _found(s) is None),
        Mistake("The scale must start at 1 (`torch.ones(features)`), so the untrained model is just the MLP.",
                when=lambda s: not checks.equal(_found(s)[2].value, torch.ones_like(_found(s)[2].value))),
    ]
    subject = staticmethod(lambda s: f"your model, run on an input of shape {tuple(s.args[0].shape)},")
    advice = staticmethod(lambda s: f"The docstring's model maps {s.sizes[0]} features to {s.sizes[1]} and back, "
                                    f"then multiplies each of the {s.sizes[0]} outputs by its scale.")
    mistakes = [Mistake("Your output is the MLP's alone: multiply it by the scale.",
                        result=lambda r, x: r.parts.out(torch.relu(r.parts.inp(x))))]
    otherwise = OutputDiffers("your model's output")
    hooks = [Mistake(lambda s: f"`trace_shapes` and every forward hook miss `{_unhooked(s)[0]}`: your output uses it, "
                               "but it runs without its hooks, so the tools that watch layers (shape tables, hooks "
                               "that log or change outputs) never see it. How does `forward` call it?",
                     when=_unhooked)]
    trained = [Mistake(lambda s: f"After one optimizer step `{_frozen(s)[0]}` has not changed: is it frozen "
                                 "(`requires_grad=False`) or cut off from the output (`.detach()`)?", when=_frozen)]

    def reference_for(self, model, sizes):
        """The check's layers, with a bias where the answer's layers have one, and a scale that is not all
        ones (which would hide a forgotten product), shaped as the answer's."""
        features, hidden = sizes
        found = _parts(model, features, hidden)
        inp, out, scale = found or (None, None, None)
        shape = tuple(scale.value.shape) if scale is not None else (features,)
        reference = checks.Computed(nn.ModuleDict({
            "inp": nn.Linear(features, hidden, bias=inp is None or checks.weight_shape(inp, "bias") is not None),
            "out": nn.Linear(hidden, features, bias=out is None or checks.weight_shape(out, "bias") is not None),
            "scale": nn.ParameterList([nn.Parameter(checks.hidden_input(*shape, seed=5))])}), _scaled)
        reference.found = found   # what the refusals and ``matched`` read, without asking the answer again
        return reference

    def inputs(self, features, hidden):
        return (checks.hidden_input(5, features),)

    def matched(self, seen):
        """Equal outputs cannot show that every layer runs through its hooks, nor that one training step
        moves every parameter."""
        first_fitting(self.hooks, seen, prefix="")
        checks.expect_connected_to_graph(seen.model.run(_training_batch(seen)[0]), "your model's output")
        first_fitting(self.trained, seen, prefix="")


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
