"""Answers to lesson 02's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson02.py`` keeps the tests
of special behaviour (the student's line, the broken models of the statements, the first message)."""

import copy

import torch
from torch import nn
from torch.nn import functional as F

from course_utils.exercises.testing import Right, Wrong


# --- q1: a three-layer network ---------------------------------------------------------------

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


class DetachedOutput(ReluFromTorchFunctions):
    def forward(self, x):
        return super().forward(x).detach()


class Softmaxed(ReluFromTorchFunctions):
    def forward(self, x):
        return F.softmax(super().forward(x), dim=1)


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


Q1 = [
    Right(SequentialInside),
    Right(ModuleListInside),
    Right(FunctionalRelu),
    Right(ReluFromTorchFunctions),
    Right(ExtrasAndBuffer),
    Right(ClampedModuleList),
    Wrong(three_layer(usual_forward, forgot_super), "must call `super().__init__()` before it assigns a layer",
          name="forgot-super"),
    Wrong(three_layer(lambda self, x: x, plain_list), "plain Python list", name="plain-list"),
    Wrong(three_layer(lambda self, x: self.fc3(torch.relu(self.fc1(x))), two_layers_only),
          "registered parameters; expected", name="two-layers"),
    Wrong(three_layer(usual_forward, swapped_order), "in the order `__init__` creates them", name="swapped-order"),
    Wrong(three_layer(lambda self, x: self.fc3(self.fc2(self.fc1(x)))), "No ReLU between the layers", name="no-relu"),
    Wrong(three_layer(lambda self, x: torch.relu(usual_forward(self, x))), "ReLU at the end", name="relu-at-end"),
    Wrong(three_layer(lambda self, x: self.fc3(self.fc2(torch.relu(self.fc1(x))))),
          "missing after one of the hidden layers", name="one-relu-missing"),
    Wrong(three_layer(lambda self, x: self.fc3.forward(torch.relu(self.fc2.forward(torch.relu(self.fc1.forward(x)))))),
          "never `self.layer.forward(x)`", name="forward-calls"),
    Wrong(three_layer(lambda self, x: torch.relu(self.fc2(torch.relu(self.fc1(x))))),
          "Your network's output has shape (7, 8); expected (7, 3).", name="last-layer-skipped"),
    Wrong(SequentialInside(6, 8, 3), "Pass the class itself", name="an-instance"),
    Wrong(DetachedOutput, "is cut off from autograd (no `grad_fn`)"),
    Wrong(Softmaxed, "differs from the expected values"),
]


# --- q2: fix a plain list of one repeated layer ------------------------------------------------

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


def shallow_copies(width, depth):
    layer = nn.Linear(width, width)
    return nn.ModuleList([copy.copy(layer) for _ in range(depth)])


Q2 = [
    Right(deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d)])), "modulelist"),
    Right(deep_stack(lambda w, d: nn.ModuleList(copy.deepcopy(nn.Linear(w, w)) for _ in range(d))), "deep-copies"),
    Right(WithAddModule, "add-module"),
    Right(AsSequential, "sequential"),
    Right(DeepStackModuleDict, "moduledict"),
    Wrong(deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w)] * d)),
          "`DeepStack(6, 3)` registers one layer's parameters (42) for 3 layers: `[nn.Linear(width, width)] * depth` "
          "is one layer listed 3 times", name="one-layer-listed", absent="copy.copy"),
    Wrong(OneLayerLooped, "`DeepStack(6, 3)` registers one layer's parameters (42) for 3 layers: one Linear layer, "
                          "run 3 times, so every step shares the same weights.", absent="copy.copy"),
    # the answer: was told about `[...] * depth`
    Wrong(deep_stack(shallow_copies),
          "`DeepStack(6, 3)` registers one layer's parameters (42) for 3 layers: it holds 3 different Linear modules, "
          "but they share one weight and one bias. A shallow copy (`copy.copy(layer)`) is a new module around the "
          "*same* parameters", name="shallow-copies"),
    Wrong(deep_stack(lambda w, d: [nn.Linear(w, w) for _ in range(d)]), "plain Python list", name="list"),
    Wrong(deep_stack(lambda w, d: tuple(nn.Linear(w, w) for _ in range(d))), "plain Python list", name="tuple"),
    Wrong(deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d)]),
                     lambda self, x: stack_forward(self, x).relu()), "ReLU at the end", name="relu-at-end"),
    Wrong(deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d)]),
                     lambda self, x: [x := layer(x) for layer in self.layers][-1]), "No ReLU between",
          name="no-relu"),
    Wrong(LayersMadeInForward, "Create the layers once, in `__init__`"),
    Wrong(ForgotSuper, "must call `super().__init__()` before it assigns a layer"),
    Wrong(deep_stack(lambda w, d: nn.ModuleList([nn.Linear(w, w) for _ in range(d + 1)])),
          "Your model has 168 registered parameters; expected 126", name="one-layer-too-many"),
    Wrong(DeepStackDetached, "is cut off from autograd"),
]


# --- q3: one weight used twice -------------------------------------------------------------------

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
        elif decoder == "random-bias":
            self.decoder_bias = nn.Parameter(torch.randn(features))
    return type("TiedAutoencoder", (nn.Module,), {"__init__": init, "forward": forward})


class SharedUnderTwoNames(nn.Module):
    """The decoder's weight is the encoder's Parameter itself, registered a second time under its own name."""

    def __init__(self, features, code):
        super().__init__()
        self.encoder = nn.Linear(features, code)
        self.decoder_weight = self.encoder.weight
        self.decoder_bias = nn.Parameter(torch.zeros(features))

    def forward(self, x):
        return F.relu(self.encoder(x)) @ self.decoder_weight + self.decoder_bias


class EncoderMadeInForward(nn.Module):
    def __init__(self, features, code):
        super().__init__()
        self.sizes = features, code

    def forward(self, x):
        encoder = nn.Linear(*self.sizes)
        return torch.relu(encoder(x)) @ encoder.weight


def decoded(self, x):
    return torch.relu(self.encoder(x)) @ self.encoder.weight + self.decoder_bias


Q3 = [
    Right(Tied),
    Right(OwnParameters),
    Right(EinsumDecoder),
    Right(SharedUnderTwoNames),
    Wrong(autoencoder(lambda self, x: self.decoder(torch.relu(self.encoder(x))), decoder="linear"),
          "Your model registers 67 parameters, 32 too many: the decoder has a weight of its own. Tie it",
          name="own-decoder"),
    Wrong(autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.decoder_weight + self.decoder_bias,
                      decoder="copy"), "A copy made in `__init__` is not a tie", name="copied-weight"),
    Wrong(autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight, decoder="no-bias"),
          "the decoder's bias (8 values, one per reconstructed feature) is missing", name="no-bias"),
    Wrong(autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight),
          "The decoder's bias is registered but not added", name="bias-not-added"),
    Wrong(autoencoder(lambda self, x: self.encoder(x) @ self.encoder.weight + self.decoder_bias),
          "The ReLU after the encoder is missing", name="no-relu"),
    Wrong(autoencoder(lambda self, x: torch.relu(decoded(self, x))), "Your output ends with a ReLU", name="relu-at-end"),
    Wrong(autoencoder(lambda self, x: torch.relu(self.encoder(x))), "Your model returns the code h, shape (4, 3)",
          name="returns-code"),
    Wrong(autoencoder(lambda self, x: torch.relu(self.encoder(x)) @ self.encoder.weight.detach() + self.decoder_bias),
          "the weight's gradient counts only one of its two uses", name="detached-weight"),
    Wrong(autoencoder(lambda self, x: torch.relu(self.encoder.forward(x)) @ self.encoder.weight + self.decoder_bias),
          "never `self.layer.forward(x)`", name="forward-call"),
    Wrong(EncoderMadeInForward, "create the encoder and the decoder's bias in `__init__`"),
    # the answer: the check overwrote the weights before it looked at the bias
    Wrong(autoencoder(decoded, decoder="random-bias"), "The decoder's bias `decoder_bias` does not start at zero (",
          name="random-bias"),
    Wrong(autoencoder(lambda self, x: decoded(self, x).detach()), "Your model's output is cut off from autograd",
          name="detached-output"),
]


# --- q4: initialisation ------------------------------------------------------------------------

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


def init_and_freeze(module):
    if isinstance(module, nn.Linear):
        xavier(module)
        module.requires_grad_(False)
    elif isinstance(module, nn.Conv2d):
        kaiming_fan_out(module)


def init_every_parameter(module):
    for p in module.parameters():
        nn.init.xavier_uniform_(p) if p.dim() > 1 else nn.init.zeros_(p)


Q4 = [
    Right(manual_both),
    Right(new_parameters),
    Right(by_type_table),
    Wrong(linear_then_conv(lambda m: nn.init.xavier_uniform_(m.weight)), "The biases of Linear(64 → 64) are not zero",
          name="linear-bias"),
    Wrong(linear_then_conv(lambda m: (nn.init.kaiming_uniform_(m.weight), nn.init.zeros_(m.bias))),
          "are uniform on about ±0.3061; Xavier-uniform with the default gain of 1 uses ±sqrt(6 / (fan_in + fan_out)) "
          "= ±0.2165", name="kaiming-uniform-linear"),
    Wrong(linear_then_conv(lambda m: (nn.init.xavier_uniform_(m.weight, gain=2.0), nn.init.zeros_(m.bias))),
          "If you passed `gain=...` (or scaled the weights), leave it out", name="gain-2"),
    Wrong(linear_then_conv(lambda m: (nn.init.xavier_uniform_(m.weight, gain=nn.init.calculate_gain("relu")),
                                      nn.init.zeros_(m.bias))), "Xavier-uniform with the default gain of 1",
          name="gain-relu"),
    Wrong(linear_then_conv(lambda m: (nn.init.xavier_normal_(m.weight), nn.init.zeros_(m.bias))),
          "exceed the Xavier-uniform bound", name="xavier-normal"),
    Wrong(linear_then_conv(lambda m: (nn.init.zeros_(m.weight), nn.init.zeros_(m.bias))), "All weights",
          name="zero-weights"),
    Wrong(linear_then_conv(lambda m: (nn.init.normal_(m.weight, std=0.02), nn.init.zeros_(m.bias))),
          "standard deviation 0.0", name="normal-linear"),
    Wrong(linear_then_conv(xavier, lambda m: None), "Your function left Conv2d(8 → 32, kernel 3) as it was",
          name="conv-untouched"),
    Wrong(linear_then_conv(xavier, lambda m: nn.init.kaiming_normal_(m.weight, mode="fan_out")),
          "The biases of Conv2d(8 → 32, kernel 3) are not zero", name="conv-bias"),
    Wrong(linear_then_conv(xavier, lambda m: (nn.init.kaiming_normal_(m.weight, nonlinearity="relu"),
                                              nn.init.zeros_(m.bias))),
          "that is Kaiming's default `mode=\"fan_in\"`", name="fan-in"),
    Wrong(linear_then_conv(xavier, lambda m: (nn.init.kaiming_uniform_(m.weight, mode="fan_out"),
                                              nn.init.zeros_(m.bias))), "are uniform (all within",
          name="kaiming-uniform-conv"),
    Wrong(linear_then_conv(xavier, xavier),
          "are uniform (all within ±0.1290); Kaiming-normal draws them from a normal", name="xavier-conv"),
    Wrong(linear_then_conv(xavier, lambda m: (nn.init.normal_(m.weight, std=0.02), nn.init.zeros_(m.bias))),
          "have standard deviation 0.0198; Kaiming-normal with `mode=\"fan_out\"` and `nonlinearity=\"relu\"` gives",
          name="normal-conv"),
    Wrong(lambda m: xavier(m), "one of them has no such attribute", name="every-module"),
    Wrong(lambda m: (xavier(m), kaiming_fan_out(m)) if hasattr(m, "weight") and m.weight.dim() > 1 else
          (nn.init.zeros_(m.bias) if hasattr(m, "bias") else None), "also changed the BatchNorm2d layer",
          name="batchnorm-too"),
    Wrong(nn.Linear, "Pass the function `init_weights` (defined with `def`), not the class Linear.", name="a-class"),
    Wrong(init_and_freeze, "Your function froze Linear(64 → 64)"),
    Wrong(init_every_parameter, "also changed the BatchNorm2d layer"),
]


# --- q5: debugging ScaledMLP ---------------------------------------------------------------------

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


class NoBiasOut(SeparateAttributes):
    def __init__(self, features, hidden):
        super().__init__(features, hidden)
        self.out = nn.Linear(hidden, features, bias=False)


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


Q5 = [
    Right(SeparateAttributes),
    Right(SequentialBody),
    Right(ModuleListBody),
    Wrong(scaled(container="dict"), "lists neither Linear layer", name="dict"),
    Wrong(scaled(container="moduledict", scale="tensor"),
          "`ScaledMLP(4, 8).parameters()` lists the layers but not `self.scale`: an optimizer would never change it, "
          "so the scale stays at 1 however long you train", name="plain-tensor"),
    Wrong(scaled(container="moduledict", scale="buffer"), "it is a buffer, which an optimizer never changes",
          name="buffer"),
    Wrong(NoBiasOut, "Your model has 76 registered parameters; expected 80."),
    Wrong(scaled(container="moduledict", scale="random"), "The scale must start at 1", name="random-scale"),
    Wrong(scaled(lambda self, x: self.layers["out"](torch.relu(self.layers["inp"](x))), container="moduledict"),
          "Your output is the MLP's alone: multiply it by the scale.", name="no-scale"),
    Wrong(scaled(lambda self, x: self.layers["out"].forward(torch.relu(self.layers["inp"](x))) * self.scale,
                 container="moduledict"),
          "`trace_shapes` and every forward hook miss `layers.out`: your output uses it, but it runs without its "
          "hooks", name="forward-call"),
    Wrong(scaled(lambda self, x: self.layers["out"](self.layers["inp"](x)) * self.scale, container="moduledict"),
          "Your model's output differs from the expected values", name="no-relu"),
    Wrong(scaled(container="moduledict", scale="frozen"), "After one optimizer step `scale` has not changed",
          name="frozen-scale"),
    Wrong(scaled(lambda self, x: (self.layers["out"](torch.relu(self.layers["inp"](x))) * self.scale).detach(),
                 container="moduledict"), "Your model's output is cut off from autograd", name="detached"),
]

BANK = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4, "q5": Q5}
