"""Exercises of lesson 02 (your own nn.Module): a three-layer network, a plain list fixed,
one layer shared twice, an initialisation function.

The checks build the student's class, look at what is registered (parameters, layers hidden
in plain lists), copy a reference's weights in and compare outputs and gradients on hidden
inputs; when something differs they try the usual mistakes and name the one they see.
"""

import math

import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Exercise, Incorrect

FORGOT_SUPER = "cannot assign module before Module.__init__() call"


def build(answer, *args):
    """Instantiate the student's class; turn the forgotten ``super().__init__()`` into advice."""
    try:
        return checks.instantiate(answer, *args)
    except AttributeError as error:
        if FORGOT_SUPER in str(error):
            raise Incorrect(f"`{answer.__name__}.__init__` must call `super().__init__()` first: it creates "
                            "the registries that `self.layer = ...` writes into.") from None
        raise


def linear_calls(model, x):
    """Run ``model(x)`` and count how often each registered Linear was called through hooks."""
    calls = {}
    handles = [m.register_forward_hook(lambda mod, i, o, name=name: calls.__setitem__(name, calls.get(name, 0) + 1))
               for name, m in checks.modules_of_type(model, nn.Linear)]
    try:
        with torch.no_grad():
            output = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return output, calls


def run_watching_hooks(model, x, expected_calls: int):
    """Run ``model(x)``; also return a check that fails if some Linear ran without its hooks."""
    output, calls = linear_calls(model, x)
    registered = checks.modules_of_type(model, nn.Linear)

    def expect_hooks_ran():
        if registered and sum(calls.values()) < expected_calls:
            raise Incorrect("Some layers ran without their hooks: call a layer as `self.layer(x)`, never "
                            "`self.layer.forward(x)` (hooks, shape tables and many tools only see the first).")
    return output, expect_hooks_ran


def copy_linears(reference_layers, student_model) -> None:
    """Give the student's Linear layers (in registration order) the reference's weights."""
    with torch.no_grad():
        for ref, (_, mine) in zip(reference_layers, checks.modules_of_type(student_model, nn.Linear)):
            mine.weight.copy_(ref.weight)
            mine.bias.copy_(ref.bias)


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


def close(a, b) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a, b, atol=1e-5)


def expect_stack_output(model, layers, x, what):
    """Compare with Linear → ReLU → ... → Linear and name the usual deviation."""
    expected = mlp(x, layers)
    got, expect_hooks_ran = run_watching_hooks(model, x, len(layers))
    checks.expect_tensor(got, f"{what}'s output")
    if close(got, expected):
        expect_hooks_ran()
        return
    if close(got, mlp(x, layers, relu_after_last=True)):
        raise Incorrect("Your output goes through a ReLU at the end, so it can never be negative: the last "
                        "layer's output is returned as it is.")
    if close(got, mlp(x, layers, relu_positions=())):
        raise Incorrect("No ReLU between the layers: without it, stacked Linear layers collapse into one "
                        "linear map. Apply a ReLU after every layer but the last.")
    if len(layers) > 2 and any(close(got, mlp(x, layers, relu_positions=[i])) for i in range(len(layers) - 1)):
        raise Incorrect("A ReLU is missing after one of the hidden layers: apply one after every layer but the last.")
    checks.expect_close(got, expected, f"{what}'s output")


# --- q1 ---------------------------------------------------------------------------------

class ThreeLayerNet(Exercise):
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
    solution = '''
class ThreeLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.fc2 = nn.Linear(hidden_features, hidden_features)
        self.fc3 = nn.Linear(hidden_features, out_features)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)
'''

    def check_answer(self, answer):
        for n_in, hidden, n_out in [(6, 8, 3), (10, 20, 5)]:
            model = build(answer, n_in, hidden, n_out)
            expected_count = n_in * hidden + hidden + hidden * hidden + hidden + hidden * n_out + n_out
            checks.expect_parameter_count(model, expected_count)
            checks.expect_submodules(model, nn.Linear, count=3)
            layers = [nn.Linear(n_in, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, n_out)]
            mine = [m for _, m in checks.modules_of_type(model, nn.Linear)]
            if [tuple(m.weight.shape) for m in mine] != [tuple(r.weight.shape) for r in layers]:
                shapes = ", ".join(f"Linear({m.in_features} → {m.out_features})" for m in mine)
                raise Incorrect(f"Your layers, in the order `__init__` creates them, are {shapes}; expected "
                                f"Linear({n_in} → {hidden}), Linear({hidden} → {hidden}), Linear({hidden} → {n_out}).")
            copy_linears(layers, model)
            x = checks.hidden_input(7, n_in)
            expect_stack_output(model, layers, x, "your network")
            checks.expect_connected_to_graph(model(x), "your network's output")


# --- q2 ---------------------------------------------------------------------------------

class FixPlainList(Exercise):
    id = "lesson02.q2"
    points = 2
    title = "Fix a model that keeps its layers in a plain list"
    why = ("Registered layers are trained, moved with `.to()`, saved and counted; a plain list "
           "silently loses all of that. `nn.ModuleList` is the list that registers.")
    hints = [
        "The model runs, but `parameters()` is empty: `nn.Module` does not look inside a Python list. "
        "Which container is a list *and* a module?",
        "Wrap the list: `self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])`. "
        "`forward` can stay as it is.",
    ]
    solution = '''
class DeepStack(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x
'''

    def check_answer(self, answer):
        for sizes in ([4, 8, 8, 2], [3, 5, 2], [6, 1]):
            model = build(answer, sizes)
            expected_count = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
            if checks.parameter_count(model) == 0 and not checks.unregistered_modules(model):
                raise Incorrect("Your model has no registered parameters. Create the layers once, in `__init__`, "
                                "inside an `nn.ModuleList` (layers created in `forward` are new, untrained "
                                "layers on every call).")
            checks.expect_parameter_count(model, expected_count)
            layers = [nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
            mine = [m for _, m in checks.modules_of_type(model, nn.Linear)]
            if [tuple(m.weight.shape) for m in mine] != [tuple(r.weight.shape) for r in layers]:
                raise Incorrect(f"For sizes {sizes} your registered layers are "
                                f"{[f'Linear({m.in_features} → {m.out_features})' for m in mine]}; expected one "
                                "Linear between each pair of consecutive sizes, in order.")
            copy_linears(layers, model)
            x = checks.hidden_input(5, sizes[0])
            expect_stack_output(model, layers, x, "your model")
            checks.expect_connected_to_graph(model(x), "your model's output")


# --- q3 ---------------------------------------------------------------------------------

class SharedReference(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.fc = nn.Linear(features, features)

    def forward(self, x):
        return self.fc(torch.relu(self.fc(x)))


class ShareOneLayer(Exercise):
    id = "lesson02.q3"
    points = 2
    title = "Use one layer twice"
    why = ("Parameters belong to modules, not to calls: one layer called twice is counted once, and its "
           "gradient adds up the contributions of both uses.")
    hints = [
        "Create a single `nn.Linear(features, features)` in `__init__`. Nothing stops `forward` from calling "
        "the same layer twice.",
        "`forward` returns `self.fc(torch.relu(self.fc(x)))`: layer, ReLU, the same layer again.",
    ]
    solution = '''
class SharedTwice(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.fc = nn.Linear(features, features)

    def forward(self, x):
        return self.fc(torch.relu(self.fc(x)))
'''

    def check_answer(self, answer):
        features = 5
        model = build(answer, features)
        one_layer = features * features + features
        count = checks.parameter_count(model)
        if count == 2 * one_layer:
            raise Incorrect(f"Your model registers {count} parameters, two layers' worth. Sharing means one "
                            f"layer ({one_layer} parameters) created once in `__init__` and called twice in `forward`.")
        if count == 0 and not checks.unregistered_modules(model):
            raise Incorrect("Your model has no registered parameters: create the layer in `__init__`, "
                            "not in `forward` (a layer made in `forward` is new and random on every call).")
        checks.expect_parameter_count(model, one_layer)
        reference = SharedReference(features)
        checks.copy_parameters(reference, model)
        x = checks.hidden_input(4, features)
        layer = reference.fc
        got, expect_hooks_ran = run_watching_hooks(model, x, 2)
        checks.expect_tensor(got, "your model's output")
        with torch.no_grad():
            if close(got, layer(x)):
                raise Incorrect("Your model applies the layer once; call it twice, with a ReLU in between.")
            if close(got, layer(layer(x))):
                raise Incorrect("The ReLU between the two uses is missing: `self.fc(torch.relu(self.fc(x)))`.")
            if close(got, torch.relu(layer(torch.relu(layer(x))))):
                raise Incorrect("Your output ends with a ReLU; return the second use of the layer as it is.")
            checks.expect_close(got, reference(x), "your model's output")
        expect_hooks_ran()
        self._expect_accumulated_gradient(model, reference, x)

    @staticmethod
    def _expect_accumulated_gradient(model, reference, x):
        model.zero_grad()
        reference.zero_grad()
        model(x).sum().backward()
        reference(x).sum().backward()
        mine = [p.grad for p in model.parameters()]
        if any(g is None for g in mine):
            raise Incorrect("Your layer gets no gradient: is the output computed under `torch.no_grad()` or detached?")
        expected = [p.grad for p in reference.parameters()]
        if not all(torch.allclose(a, b, atol=1e-5) for a, b in zip(mine, expected)):
            raise Incorrect("The outputs are right but the layer's gradient is not the sum over both uses: "
                            "don't `.detach()` (or use `torch.no_grad()` on) either call of the layer.")


# --- q4 ---------------------------------------------------------------------------------

def init_test_model():
    return nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Conv2d(3, 4, kernel_size=3), nn.Linear(64, 32))


class XavierInit(Exercise):
    id = "lesson02.q4"
    points = 1
    title = "Initialise every Linear layer: Xavier-uniform weights, zero biases"
    why = ("`model.apply(fn)` visits every submodule, so one small function sets up a whole model; the "
           "isinstance check keeps it from touching layers it was not meant for.")
    hints = [
        "`model.apply(init_weights)` calls your function on every module, including `ReLU`, `Conv2d` and the "
        "`Sequential` itself. Act only when `isinstance(module, nn.Linear)`.",
        "Inside that `if`: `nn.init.xavier_uniform_(module.weight)` and `nn.init.zeros_(module.bias)`.",
    ]
    solution = '''
def init_weights(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)
'''

    def check_answer(self, init_weights):
        if isinstance(init_weights, (nn.Module, type)) or not callable(init_weights):
            raise Incorrect("Pass your function `init_weights` itself (defined with `def`).")
        model = init_test_model()
        conv_before = [p.detach().clone() for p in model[2].parameters()]
        try:
            model.apply(init_weights)
        except AttributeError as error:
            if "has no attribute" in str(error):
                raise Incorrect(f"`model.apply` calls your function on every module, and one of them has no such "
                                f"attribute ({error}). Act only when `isinstance(module, nn.Linear)`.") from None
            raise
        if not all(torch.equal(a, b) for a, b in zip(conv_before, model[2].parameters())):
            raise Incorrect("Your function also changed the Conv2d layer: initialise `nn.Linear` layers only.")
        for index in (0, 3):
            self._expect_xavier(model[index])

    @staticmethod
    def _expect_xavier(layer):
        name = f"Linear({layer.in_features} → {layer.out_features})"
        if not (layer.weight.requires_grad and layer.bias.requires_grad):
            raise Incorrect(f"Your function froze {name} (`requires_grad=False`): initialising must leave "
                            "the layer trainable.")
        if not torch.all(layer.bias == 0):
            raise Incorrect(f"The biases of {name} are not zero: `nn.init.zeros_(module.bias)`.")
        weight = layer.weight.detach()
        if torch.all(weight == weight.flatten()[0]):
            raise Incorrect(f"All weights of {name} are equal: every unit would compute the same thing and "
                            "get the same gradient. Xavier-uniform draws them at random.")
        bound = math.sqrt(6 / (layer.in_features + layer.out_features))
        if weight.abs().max() > bound * (1 + 1e-6):
            raise Incorrect(f"Some weights of {name} exceed the Xavier-uniform bound ±sqrt(6 / (fan_in + fan_out)) "
                            f"= ±{bound:.4f} (largest {weight.abs().max().item():.4f}): use "
                            "`nn.init.xavier_uniform_`, not a normal or Kaiming initialisation.")
        target = bound / math.sqrt(3)  # the standard deviation of U(-bound, bound)
        if abs(weight.std().item() - target) > 0.15 * target:
            raise Incorrect(f"The weights of {name} have standard deviation {weight.std().item():.4f}; "
                            f"Xavier-uniform gives about {target:.4f}. Use `nn.init.xavier_uniform_(module.weight)`.")


q1 = ThreeLayerNet()
q2 = FixPlainList()
q3 = ShareOneLayer()
q4 = XavierInit()
