"""Checks of lesson 02's exercises: other correct answers, and a bank of common mistakes, each
with the words the student must read (the reference, the stub and the hints of every exercise
are tested once for all lessons in ``test_every_exercise.py``)."""

import copy
import textwrap

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises import lesson02 as ex
from course_utils.exercises.testing import (assert_check_failed, assert_check_passed,
                                            assert_check_unattempted)

def defined(source, name):
    namespace = {"nn": nn, "torch": torch}
    exec(textwrap.dedent(source), namespace)
    return namespace[name]


def test_stub_inside_a_class_is_not_attempted():
    class Stub(nn.Module):
        def __init__(self, *args):
            super().__init__()
            raise NotImplementedError

    for exercise in (ex.q1, ex.q2, ex.q3, ex.q5):
        assert_check_unattempted(exercise, Stub)

    def stub(module):
        raise NotImplementedError

    assert_check_unattempted(ex.q4, stub)


# --- q1: a three-layer network -------------------------------------------------------------

class SequentialInside(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, n_out))

    def forward(self, x):
        return self.net(x)


class ModuleListInside(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(n_in, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, n_out)])

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


class FunctionalRelu(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super(FunctionalRelu, self).__init__()
        self.a = nn.Linear(n_in, hidden)
        self.b = nn.Linear(hidden, hidden)
        self.c = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.c(torch.clamp(self.b(torch.relu(self.a(x))), min=0))


@pytest.mark.parametrize("answer", [SequentialInside, ModuleListInside, FunctionalRelu])
def test_q1_alternatives_pass(answer):
    assert_check_passed(ex.q1, answer)


def three_layer(forward, init=None):
    """A ThreeLayerNet variant: ``forward(self, x)`` and an optional ``init(self, n_in, h, n_out)``."""
    def default_init(self, n_in, hidden, n_out):
        nn.Module.__init__(self)
        self.fc1, self.fc2, self.fc3 = nn.Linear(n_in, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, n_out)
    return type("Attempt", (nn.Module,), {"__init__": init or default_init, "forward": forward})


def forgot_super(self, n_in, hidden, n_out):
    self.fc1 = nn.Linear(n_in, hidden)


def plain_list(self, n_in, hidden, n_out):
    nn.Module.__init__(self)
    self.layers = [nn.Linear(n_in, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, n_out)]


def two_layers_only(self, n_in, hidden, n_out):
    nn.Module.__init__(self)
    self.fc1, self.fc3 = nn.Linear(n_in, hidden), nn.Linear(hidden, n_out)


def swapped_order(self, n_in, hidden, n_out):
    nn.Module.__init__(self)
    self.fc3, self.fc1, self.fc2 = nn.Linear(hidden, n_out), nn.Linear(n_in, hidden), nn.Linear(hidden, hidden)


def usual_forward(self, x):
    return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


@pytest.mark.parametrize("answer, message", [
    (three_layer(usual_forward, forgot_super), "must call `super().__init__()` before it assigns a layer"),
    (three_layer(lambda self, x: x, plain_list), "plain Python list"),
    (three_layer(lambda self, x: self.fc3(torch.relu(self.fc1(x))), two_layers_only), "registered parameters; expected"),
    (three_layer(usual_forward, swapped_order), "in the order `__init__` creates them"),
    (three_layer(lambda self, x: self.fc3(self.fc2(self.fc1(x)))), "No ReLU between the layers"),
    (three_layer(lambda self, x: torch.relu(usual_forward(self, x))), "ReLU at the end"),
    (three_layer(lambda self, x: self.fc3(self.fc2(torch.relu(self.fc1(x))))), "missing after one of the hidden layers"),
    (three_layer(lambda self, x: self.fc3.forward(torch.relu(self.fc2.forward(torch.relu(self.fc1.forward(x)))))),
     "never `self.layer.forward(x)`"),
    (three_layer(lambda self, x: torch.relu(self.fc2(torch.relu(self.fc1(x))))), "shape"),
])
def test_q1_mistakes(answer, message):
    assert_check_failed(ex.q1, answer, match=message)


def test_q1_instance_instead_of_class():
    assert_check_failed(ex.q1, SequentialInside(6, 8, 3), match="Pass the class itself")


# --- q2: fix a plain list of one repeated layer ---------------------------------------------

def stack_forward(self, x):
    for i, layer in enumerate(self.layers):
        x = layer(x)
        if i < len(self.layers) - 1:
            x = torch.relu(x)
    return x


def deep_stack(make_layers, forward=stack_forward):
    def init(self, width, depth):
        nn.Module.__init__(self)
        self.layers = make_layers(width, depth)
    return type("DeepStack", (nn.Module,), {"__init__": init, "forward": forward})


class WithAddModule(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.depth = depth
        for i in range(depth):
            self.add_module(f"layer{i}", nn.Linear(width, width))

    def forward(self, x):
        for i in range(self.depth):
            x = getattr(self, f"layer{i}")(x)
            x = torch.relu(x) if i < self.depth - 1 else x
        return x


class AsSequential(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        parts = []
        for _ in range(depth):
            parts += [nn.Linear(width, width), nn.ReLU()]
        self.net = nn.Sequential(*parts[:-1])

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("answer", [
    deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d)])),
    deep_stack(lambda w, d: nn.ModuleList(copy.deepcopy(nn.Linear(w, w)) for _ in range(d))),
    WithAddModule,
    AsSequential,
], ids=["modulelist", "deep-copies", "add-module", "sequential"])
def test_q2_alternatives_pass(answer):
    assert_check_passed(ex.q2, answer)


BROKEN_DEEP_STACK = defined(ex.BROKEN_DEEP_STACK, "DeepStack")


class LayersMadeInForward(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.width, self.depth = width, depth

    def forward(self, x):
        for _ in range(self.depth):
            x = torch.relu(nn.Linear(self.width, self.width)(x))
        return x


class ForgotSuper(nn.Module):
    def __init__(self, width, depth):
        self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])


class OneLayerLooped(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layer, self.depth = nn.Linear(width, width), depth

    def forward(self, x):
        for i in range(self.depth):
            x = self.layer(x)
            x = torch.relu(x) if i < self.depth - 1 else x
        return x


@pytest.mark.parametrize("answer, message", [
    (BROKEN_DEEP_STACK, "Layers stored in a plain Python list or dict (`self.layers`) are not registered"),
    (deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w)] * d)),
     "`DeepStack(6, 3)` registers one layer's parameters (42) for 3 layers: `[nn.Linear(width, width)] * depth` "
     "is one layer listed 3 times"),
    (OneLayerLooped, "so every step shares the same weights"),
    (deep_stack(lambda w, d: [nn.Linear(w, w) for _ in range(d)]), "plain Python list"),
    (deep_stack(lambda w, d: tuple(nn.Linear(w, w) for _ in range(d))), "plain Python list"),
    (deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d)]),
                lambda self, x: stack_forward(self, x).relu()), "ReLU at the end"),
    (deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d)]),
                lambda self, x: [x := layer(x) for layer in self.layers][-1]), "No ReLU between"),
    (LayersMadeInForward, "Create the layers once, in `__init__`"),
    (ForgotSuper, "must call `super().__init__()` before it assigns a layer"),
    (deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d + 1)])),
     "Your model has 168 registered parameters; expected 126"),
])
def test_q2_mistakes(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


def test_q2_statement_code_is_one_layer_in_a_plain_list():
    model = BROKEN_DEEP_STACK(8, 3)
    assert list(model.parameters()) == [] and len({id(layer) for layer in model.layers}) == 1


# --- q3: one layer used twice --------------------------------------------------------------

class Tied(nn.Module):
    """The reference, written with F.linear and a transposed weight."""

    def __init__(self, features, code):
        super().__init__()
        self.enc = nn.Linear(features, code)
        self.dec_bias = nn.Parameter(torch.zeros(features))

    def forward(self, x):
        return F.linear(F.relu(self.enc(x)), self.enc.weight.t(), self.dec_bias)


class OwnParameters(nn.Module):
    """No nn.Linear at all: one weight matrix used both ways, by hand."""

    def __init__(self, features, code):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(code, features) * 0.1)
        self.encoder_bias = nn.Parameter(torch.zeros(code))
        self.decoder_bias = nn.Parameter(torch.zeros(features))

    def forward(self, x):
        code = torch.relu(x @ self.weight.T + self.encoder_bias)
        return torch.matmul(code, self.weight) + self.decoder_bias


class EinsumDecoder(nn.Module):
    def __init__(self, features, code):
        super().__init__()
        self.encode = nn.Sequential(nn.Linear(features, code), nn.ReLU())
        self.register_parameter("bias", nn.Parameter(torch.zeros(features)))

    def forward(self, x):
        return torch.einsum("bc,cf->bf", self.encode(x), self.encode[0].weight) + self.bias


@pytest.mark.parametrize("answer", [Tied, OwnParameters, EinsumDecoder])
def test_q3_alternatives_pass(answer):
    assert_check_passed(ex.q3, answer)


def autoencoder(forward, decoder=None):
    def init(self, features, code):
        nn.Module.__init__(self)
        self.encoder = nn.Linear(features, code)
        self.decoder_bias = nn.Parameter(torch.zeros(features))
        if decoder == "linear":
            self.decoder = nn.Linear(code, features)
        elif decoder == "copy":
            self.decoder_weight = nn.Parameter(self.encoder.weight.detach().clone())
        elif decoder == "no-bias":
            del self.decoder_bias
    return type("TiedAutoencoder", (nn.Module,), {"__init__": init, "forward": forward})


class LayersMadeInForward(nn.Module):
    def __init__(self, features, code):
        super().__init__()
        self.sizes = features, code

    def forward(self, x):
        encoder = nn.Linear(*self.sizes)
        return torch.relu(encoder(x)) @ encoder.weight


@pytest.mark.parametrize("answer, message", [
    (autoencoder(lambda self, x: self.decoder(torch.relu(self.encoder(x))), decoder="linear"),
     "Your model registers 67 parameters, 32 too many: the decoder has a weight of its own. Tie it"),
    (autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.decoder_weight + self.decoder_bias,
                 decoder="copy"), "A copy made in `__init__` is not a tie"),
    (autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight, decoder="no-bias"),
     "the decoder's bias (8 values, one per reconstructed feature) is missing"),
    (autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight),
     "The decoder's bias is registered but not added"),
    (autoencoder(lambda self, x: self.encoder(x) @ self.encoder.weight + self.decoder_bias),
     "The ReLU after the encoder is missing"),
    (autoencoder(lambda self, x: torch.relu(torch.relu(self.encoder(x)) @ self.encoder.weight + self.decoder_bias)),
     "Your output ends with a ReLU"),
    (autoencoder(lambda self, x: torch.relu(self.encoder(x))), "Your model returns the code h, shape (4, 3)"),
    (autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight.detach() + self.decoder_bias),
     "the weight's gradient counts only one of its two uses"),
    (autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight.T + self.decoder_bias),
     "(batch, code) @ (code, features). (At test_lesson02.py, line"),
    (autoencoder(lambda self, x: torch.relu(self.encoder.forward(x)) @ self.encoder.weight + self.decoder_bias),
     "never `self.layer.forward(x)`"),
    (LayersMadeInForward, "create the encoder and the decoder's bias in `__init__`"),
])
def test_q3_mistakes(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


# --- q4: initialisation --------------------------------------------------------------------

def kaiming_fan_out(conv):
    nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
    nn.init.zeros_(conv.bias)


def manual_both(module):
    if type(module) is nn.Linear:
        bound = (6 / (module.in_features + module.out_features)) ** 0.5
        with torch.no_grad():
            module.weight.uniform_(-bound, bound)
            module.bias.zero_()
    elif type(module) is nn.Conv2d:
        fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
        with torch.no_grad():
            module.weight.normal_(0, (2 / fan_out) ** 0.5)
            module.bias.fill_(0.0)


def new_parameters(module):
    if isinstance(module, nn.Linear):
        weight = torch.empty_like(module.weight)
        nn.init.xavier_uniform_(weight, gain=1.0)
        module.weight = nn.Parameter(weight)
        nn.init.constant_(module.bias, 0.0)
    if isinstance(module, nn.Conv2d):
        kaiming_fan_out(module)


def by_type_table(module):
    schemes = {nn.Linear: lambda m: nn.init.xavier_uniform_(m.weight),
               nn.Conv2d: lambda m: nn.init.kaiming_normal_(m.weight, a=0, mode="fan_out")}
    if type(module) in schemes:
        schemes[type(module)](module)
        module.bias.data.zero_()


@pytest.mark.parametrize("answer", [manual_both, new_parameters, by_type_table])
def test_q4_alternatives_pass(answer):
    assert_check_passed(ex.q4, answer)


def linear_then_conv(linear_body, conv_body=kaiming_fan_out):
    def init_weights(module):
        if isinstance(module, nn.Linear):
            linear_body(module)
        elif isinstance(module, nn.Conv2d):
            conv_body(module)
    return init_weights


def xavier(m):
    nn.init.xavier_uniform_(m.weight)
    nn.init.zeros_(m.bias)


@pytest.mark.parametrize("answer, message", [
    (linear_then_conv(lambda m: nn.init.xavier_uniform_(m.weight)), "The biases of Linear(64 → 64) are not zero"),
    (linear_then_conv(lambda m: (nn.init.kaiming_uniform_(m.weight), nn.init.zeros_(m.bias))),
     "are uniform on about ±0.3061; Xavier-uniform with the default gain of 1 uses ±sqrt(6 / (fan_in + fan_out)) = ±0.2165"),
    (linear_then_conv(lambda m: (nn.init.xavier_uniform_(m.weight, gain=2.0), nn.init.zeros_(m.bias))),
     "If you passed `gain=...` (or scaled the weights), leave it out"),
    (linear_then_conv(lambda m: (nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu")),
                                 nn.init.zeros_(m.bias))), "Xavier-uniform with the default gain of 1"),
    (linear_then_conv(lambda m: (nn.init.xavier_normal_(m.weight), nn.init.zeros_(m.bias))),
     "exceed the Xavier-uniform bound"),
    (linear_then_conv(lambda m: (nn.init.zeros_(m.weight), nn.init.zeros_(m.bias))), "All weights"),
    (linear_then_conv(lambda m: (nn.init.normal_(m.weight, std=0.02), nn.init.zeros_(m.bias))), "standard deviation 0.0"),
    (linear_then_conv(xavier, lambda m: None), "Your function left Conv2d(8 → 32, kernel 3) as it was"),
    (linear_then_conv(xavier, lambda m: nn.init.kaiming_normal_(m.weight, mode="fan_out")),
     "The biases of Conv2d(8 → 32, kernel 3) are not zero"),
    (linear_then_conv(xavier, lambda m: (nn.init.kaiming_normal_(m.weight, nonlinearity="relu"), nn.init.zeros_(m.bias))),
     "that is Kaiming's default `mode=\"fan_in\"`"),
    (linear_then_conv(xavier, lambda m: (nn.init.kaiming_uniform_(m.weight, mode="fan_out"), nn.init.zeros_(m.bias))),
     "are uniform (all within"),
    (linear_then_conv(xavier, xavier), "are uniform (all within ±0.1290); Kaiming-normal draws them from a normal"),
    (linear_then_conv(xavier, lambda m: (nn.init.normal_(m.weight, std=0.02), nn.init.zeros_(m.bias))),
     "have standard deviation 0.0198; Kaiming-normal with `mode=\"fan_out\"` and `nonlinearity=\"relu\"` gives"),
    (lambda m: xavier(m), "one of them has no such attribute"),
    (lambda m: (xavier(m), kaiming_fan_out(m)) if hasattr(m, "weight") and m.weight.dim() > 1 else
     (nn.init.zeros_(m.bias) if hasattr(m, "bias") else None), "also changed the BatchNorm2d layer"),
    (nn.Linear, "Pass the function `init_weights` (defined with `def`), not the class Linear."),
])
def test_q4_mistakes(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


# --- answers written from a student's point of view (review of the checks) ---------------

class ReluFromTorchFunctions(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(i, h), nn.Linear(h, h), nn.Linear(h, o)

    def forward(self, x):
        return self.l3(F.relu(self.l2(torch.relu(self.l1(x)))))


class ExtrasAndBuffer(nn.Module):
    """ReLU registered first, a Dropout(p=0) and a buffer: harmless extras."""

    def __init__(self, i, h, o):
        super().__init__()
        self.act = nn.ReLU()
        self.fc1, self.drop, self.fc2, self.fc3 = nn.Linear(i, h), nn.Dropout(0.0), nn.Linear(h, h), nn.Linear(h, o)
        self.register_buffer("scale", torch.ones(1))

    def forward(self, x):
        return self.fc3(self.drop(self.act(self.fc2(self.act(self.fc1(x)))))) * self.scale


class ClampedModuleList(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(in_features, hidden_features),
                                     nn.Linear(hidden_features, hidden_features),
                                     nn.Linear(hidden_features, out_features)])

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = layer(x).clamp(min=0)
        return self.layers[-1](x)


@pytest.mark.parametrize("answer", [ReluFromTorchFunctions, ExtrasAndBuffer, ClampedModuleList])
def test_three_layer_net_student_variants_pass(answer):
    assert_check_passed(ex.q1, answer)


class DetachedOutput(ReluFromTorchFunctions):
    def forward(self, x):
        return super().forward(x).detach()


class Softmaxed(ReluFromTorchFunctions):
    def forward(self, x):
        return F.softmax(super().forward(x), dim=1)


def test_three_layer_net_detached_output_fails():
    assert_check_failed(ex.q1, DetachedOutput, match="is cut off from autograd (no `grad_fn`)")


def test_three_layer_net_softmax_at_the_end_fails():
    assert_check_failed(ex.q1, Softmaxed, match="differs from the expected values")


class DeepStackModuleDict(nn.Module):
    def __init__(self, width, depth):
        super().__init__()
        self.layers = nn.ModuleDict({f"step{i}": nn.Linear(width, width) for i in range(depth)})

    def forward(self, x):
        for i, layer in enumerate(self.layers.values()):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class DeepStackDetached(DeepStackModuleDict):
    def forward(self, x):
        return super().forward(x).detach()


def test_deep_stack_detached_output_fails():
    assert_check_failed(ex.q2, DeepStackDetached, match="is cut off from autograd")


def _init_and_freeze(module):
    if isinstance(module, nn.Linear):
        nn.init.xavier_uniform_(module.weight)
        nn.init.zeros_(module.bias)
        module.requires_grad_(False)
    elif isinstance(module, nn.Conv2d):
        kaiming_fan_out(module)


def _init_every_parameter(module):
    for p in module.parameters():
        nn.init.xavier_uniform_(p) if p.dim() > 1 else nn.init.zeros_(p)


def test_init_weights_that_freezes_fails():
    assert_check_failed(ex.q4, _init_and_freeze, match="Your function froze Linear(64 → 64)")


def test_init_weights_on_every_parameter_fails():
    assert_check_failed(ex.q4, _init_every_parameter, match="also changed the BatchNorm2d layer")


# --- q5: debugging ScaledMLP ---------------------------------------------------------------

BROKEN = defined(ex.BROKEN_SCALED_MLP, "BrokenScaledMLP")


class SeparateAttributes(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.inp = nn.Linear(features, hidden)
        self.out = nn.Linear(hidden, features)
        self.register_parameter("scale", nn.Parameter(torch.ones(features)))

    def forward(self, x):
        return self.out(F.relu(self.inp(x))) * self.scale


class SequentialBody(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1, features))
        self.body = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Linear(hidden, features))

    def forward(self, x):
        return torch.mul(self.body(x), self.scale)


class ModuleListBody(nn.Module):
    def __init__(self, features, hidden):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(features, hidden), nn.Linear(hidden, features)])
        self.scale = nn.Parameter(torch.full((features,), 1.0))

    def forward(self, x):
        return self.layers[1](self.layers[0](x).clamp(min=0)) * self.scale


@pytest.mark.parametrize("answer", [SeparateAttributes, SequentialBody, ModuleListBody])
def test_q5_alternatives_pass(answer):
    assert_check_passed(ex.q5, answer)


def scaled(forward=None, scale="parameter", container="dict"):
    def init(self, features, hidden):
        nn.Module.__init__(self)
        layers = {"inp": nn.Linear(features, hidden), "out": nn.Linear(hidden, features)}
        self.layers = nn.ModuleDict(layers) if container == "moduledict" else layers
        if scale == "parameter":
            self.scale = nn.Parameter(torch.ones(features))
        elif scale == "random":
            self.scale = nn.Parameter(torch.randn(features))
        elif scale == "buffer":
            self.register_buffer("scale", torch.ones(features))
        elif scale == "frozen":
            self.scale = nn.Parameter(torch.ones(features), requires_grad=False)
        else:
            self.scale = torch.ones(features)

    def default_forward(self, x):
        return self.layers["out"](torch.relu(self.layers["inp"](x))) * self.scale

    return type("ScaledMLP", (nn.Module,), {"__init__": init, "forward": forward or default_forward})


@pytest.mark.parametrize("answer, message", [
    (BROKEN, "`ScaledMLP(4, 8).parameters()` lists neither Linear layer, so an optimizer would never see their "
             "weights (and `SGD` refuses a model with no parameters at all). Look at where `__init__` keeps them: "
             "`self.layers`."),
    (scaled(container="dict"), "lists neither Linear layer"),
    (scaled(container="moduledict", scale="tensor"),
     "`ScaledMLP(4, 8).parameters()` lists the layers but not `self.scale`: an optimizer would never change it, so "
     "the scale stays at 1 however long you train"),
    (scaled(container="moduledict", scale="buffer"), "it is a buffer, which an optimizer never changes"),
    (scaled(container="moduledict", scale="random"), "The scale must start at 1"),
    (scaled(lambda self, x: self.layers["out"](torch.relu(self.layers["inp"](x))), container="moduledict"),
     "Your output is the MLP's alone: multiply it by the scale."),
    (scaled(lambda self, x: self.layers["out"].forward(torch.relu(self.layers["inp"](x))) * self.scale,
            container="moduledict"),
     "`trace_shapes` and every forward hook miss `layers.out`: your output uses it, but it runs without its hooks"),
    (scaled(lambda self, x: self.layers["out"](self.layers["inp"](x)) * self.scale, container="moduledict"),
     "Your model's output differs from the expected values"),
    (scaled(container="moduledict", scale="frozen"), "After one optimizer step `scale` has not changed"),
])
def test_q5_mistakes(answer, message):
    assert_check_failed(ex.q5, answer, match=message)


def test_q5_statement_code_has_the_faults_the_check_names():
    model = BROKEN(4, 8)
    assert list(model.parameters()) == []
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.SGD(model.parameters(), lr=0.1)


# --- the answers: each mistake named for what it is ---------------------------------------

def shallow_copies(width, depth):
    layer = nn.Linear(width, width)
    return nn.ModuleList([copy.copy(layer) for _ in range(depth)])


@pytest.mark.parametrize("answer, message", [
    (deep_stack(shallow_copies),   # was told about `[...] * depth`
     "`DeepStack(6, 3)` registers one layer's parameters (42) for 3 layers: it holds 3 different Linear modules, "
     "but they share one weight and one bias. A shallow copy (`copy.copy(layer)`) is a new module around the "
     "*same* parameters"),
    (deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w)] * d)), "`[nn.Linear(width, width)] * depth` is one "
                                                                    "layer listed 3 times"),
    (OneLayerLooped, "`DeepStack(6, 3)` registers one layer's parameters (42) for 3 layers: one Linear layer, run 3 "
                     "times, so every step shares the same weights."),
])
def test_q2_one_layer_for_many_is_named_by_how_it_happened(answer, message):
    outcome = assert_check_failed(ex.q2, answer, match=message)
    assert ("copy.copy" in outcome.message) == ("copy.copy" in message)


def test_q2_a_layer_of_the_wrong_width_is_explained_in_the_exercises_terms():
    class Wider(nn.Module):
        def __init__(self, width, depth):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(width, width) for _ in range(depth)])

        def forward(self, x):
            for layer in self.layers:
                x = torch.relu(layer(torch.cat([x, x], dim=1)))
            return x

    outcome = assert_check_failed(
        ex.q2, Wider, match="Your model, run on an input of shape (5, 6), raised an error: a Linear layer (Linear, "
                            "6 → 6 features) received 12 features per sample")
    assert "Every layer of the stack reads and returns 6 features." in outcome.message
    assert "(At test_lesson02.py, line" in outcome.message


def test_q1_layers_run_out_of_order_are_explained_with_the_students_line():
    outcome = assert_check_failed(
        ex.q1, three_layer(lambda self, x: self.fc3(torch.relu(self.fc1(torch.relu(self.fc2(x)))))),
        match="Your network, run on an input of shape (7, 6), raised an error: the layer `fc2` (Linear, 8 → 8 features) "
              "received 6 features per sample")
    assert "`forward` runs the layers in the order `__init__` creates them" in outcome.message
    assert "self.fc2(x)" in outcome.message


def random_decoder_bias(self, features, code):
    nn.Module.__init__(self)
    self.encoder = nn.Linear(features, code)
    self.decoder_bias = nn.Parameter(torch.randn(features))


def test_q3_a_decoder_bias_that_does_not_start_at_zero_is_seen_before_the_check_copies_weights():
    answer = autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight + self.decoder_bias)
    answer.__init__ = random_decoder_bias
    assert_check_failed(ex.q3, answer, match="The decoder's bias `decoder_bias` does not start at zero (")


def test_q3_an_output_cut_off_from_autograd_is_said_so():
    answer = autoencoder(lambda self, x: (torch.relu(self.encoder(x)) @ self.encoder.weight
                                          + self.decoder_bias).detach())
    assert_check_failed(ex.q3, answer, match="Your model's output is cut off from autograd")


def kaiming_on_everything(module):
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        nn.init.xavier_uniform_(module.weight)
        nn.init.kaiming_normal_(module.bias)


def normal_without_no_grad(module):
    if isinstance(module, nn.Linear):
        xavier(module)
    elif isinstance(module, nn.Conv2d):
        module.weight.normal_(0, 0.01)


@pytest.mark.parametrize("answer, message", [
    (kaiming_on_everything, "`model.apply(init_weights)` fails (Fan in and fan out can not be computed for tensor "
                            "with fewer than 2 dimensions): Xavier and Kaiming initialisations compute their scale"),
    (normal_without_no_grad, "a parameter changed in place while autograd records. The `nn.init` functions do it "
                             "under `torch.no_grad()` for you"),
])
def test_q4_what_pytorch_raises_is_explained_with_the_students_line(answer, message):
    outcome = assert_check_failed(ex.q4, answer, match=message)
    assert "(At test_lesson02.py, line" in outcome.message


def test_q5_an_output_cut_off_from_autograd_is_said_so():
    answer = scaled(lambda self, x: (self.layers["out"](torch.relu(self.layers["inp"](x))) * self.scale).detach(),
                    container="moduledict")
    assert_check_failed(ex.q5, answer, match="Your model's output is cut off from autograd")


def test_q5_the_first_message_for_the_handed_out_code_names_the_symptom_not_the_fix():
    message = assert_check_failed(ex.q5, BROKEN).message
    assert "ModuleDict" not in message and "nn.Parameter" not in message
    assert all(word not in ex.q5.title for word in ("ModuleDict", "Parameter", "register", "hooks every"))
    assert len(ex.q5.hints) >= 3 and "nn.ModuleDict" in ex.q5.hints[-1]
    assert not any("ModuleDict" in hint or "nn.Parameter(" in hint for hint in ex.q5.hints[:-1])
