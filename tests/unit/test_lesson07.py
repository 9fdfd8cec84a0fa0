"""Checks of lesson 07: alternative correct answers and a bank of wrong answers, each with the
message it must produce (the reference, the stub and the hints of every exercise are tested in
test_every_exercise.py)."""

import ast
import json
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson07 as ex
from course_utils.exercises.testing import (
    assert_check_errored,
    assert_check_failed,
    assert_check_passed,
)

REPO = Path(__file__).resolve().parents[2]


# --- q1: forward(x, use_extra) -------------------------------------------------------------

class Q1Base(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.first, self.extra, self.last = nn.Linear(i, h), nn.Linear(h, h), nn.Linear(h, o)


def test_q1_alternative_sequential_parts_and_other_order():
    class Alt(nn.Module):
        def __init__(self, i, h, o):
            super().__init__()
            self.head = nn.Linear(h, o)          # registered first: found by shape, not order
            self.body = nn.Sequential(nn.Linear(i, h), nn.ReLU())
            self.optional = nn.Sequential(nn.Linear(h, h), nn.ReLU())

        def forward(self, x, flag=False):
            x = self.body(x)
            return self.head(self.optional(x) if flag else x)

    assert_check_passed(ex.q1, Alt)


def test_q1_alternative_functional_relu_and_module_list():
    class Alt(nn.Module):
        def __init__(self, i, h, o):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(i, h), nn.Linear(h, h), nn.Linear(h, o)])

        def forward(self, x, condition):
            x = nn.functional.relu(self.layers[0](x))
            if condition:
                x = nn.functional.relu(self.layers[1](x))
            return self.layers[2](x)

    assert_check_passed(ex.q1, Alt)


def test_q1_extra_layer_built_in_forward():
    class Wrong(nn.Module):
        def __init__(self, i, h, o):
            super().__init__()
            self.first, self.last, self.h = nn.Linear(i, h), nn.Linear(h, o), h

        def forward(self, x, use_extra):
            x = torch.relu(self.first(x))
            if use_extra:
                x = torch.relu(nn.Linear(self.h, self.h)(x))
            return self.last(x)

    assert_check_failed(ex.q1, Wrong, match="67 registered parameters; expected 139")


def test_q1_condition_ignored():
    class Wrong(Q1Base):
        def forward(self, x, use_extra):
            return self.last(torch.relu(self.extra(torch.relu(self.first(x)))))

    assert_check_failed(ex.q1, Wrong, match="same output whether the switch is True or False")


def test_q1_condition_inverted():
    class Wrong(Q1Base):
        def forward(self, x, use_extra):
            h = torch.relu(self.first(x))
            if not use_extra:
                h = torch.relu(self.extra(h))
            return self.last(h)

    assert_check_failed(ex.q1, Wrong, match="wrong way round")


def test_q1_relu_on_output_like_the_seed():
    class Wrong(Q1Base):
        def forward(self, x, use_extra):
            h = torch.relu(self.first(x))
            if use_extra:
                h = torch.relu(self.extra(h))
            return torch.relu(self.last(h))

    assert_check_failed(ex.q1, Wrong, match="ReLU at the end")


def test_q1_missing_relu_after_extra():
    class Wrong(Q1Base):
        def forward(self, x, use_extra):
            h = torch.relu(self.first(x))
            if use_extra:
                h = self.extra(h)
            return self.last(h)

    assert_check_failed(ex.q1, Wrong, match="ReLU after the extra layer")


def test_q1_forward_without_condition_argument():
    class Wrong(Q1Base):
        def forward(self, x):
            return self.last(torch.relu(self.first(x)))

    assert_check_failed(ex.q1, Wrong, match="second argument")


def test_q1_instance_instead_of_class():
    assert_check_failed(ex.q1, ex.q1.solution_object()(4, 8, 3), match="class itself")


def test_q1_a_shape_error_in_student_forward_is_translated_with_the_line():
    class Broken(Q1Base):
        def forward(self, x, use_extra):
            return self.last(self.first(x).reshape(2, -1))

    outcome = assert_check_failed(ex.q1, Broken, match="Your model raised an error: the layer `last` (Linear, 8 → 3 features) "
                                                       "received 20 features per sample")
    assert "in forward: `return self.last(self.first(x).reshape(2, -1))`" in outcome.message


def test_q1_an_error_the_course_cannot_word_is_reported_with_the_line():
    class Broken(Q1Base):
        def forward(self, x, use_extra):
            return self.last(torch.relu(self.first(x)))[100]

    assert_check_errored(ex.q1, Broken, match="IndexError")


# --- q2: add a layer and register it ---------------------------------------------------------

def test_q2_alternative_register_all_unknown_parameters():
    def add_layer(model, optimizer):
        model.layers.append(nn.Linear(model.width, model.width))
        known = {id(p) for g in optimizer.param_groups for p in g["params"]}
        optimizer.add_param_group({"params": [p for p in model.parameters() if id(p) not in known]})

    assert_check_passed(ex.q2, add_layer)


def test_q2_alternative_list_of_parameters_and_own_lr():
    def add_layer(model, optimizer):
        layer = nn.Linear(model.width, model.width)
        nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
        model.layers.add_module(str(len(model.layers)), layer)
        optimizer.add_param_group({"params": [layer.weight, layer.bias], "lr": 0.05})
        return layer

    assert_check_passed(ex.q2, add_layer)


def test_q2_optimizer_not_told():
    def add_layer(model, optimizer):
        model.layers.append(nn.Linear(model.width, model.width))

    assert_check_failed(ex.q2, add_layer, match="optimizer does not know 2 parameters of the model (layers.2.weight")


def test_q2_all_parameters_registered_again():
    def add_layer(model, optimizer):
        model.layers.append(nn.Linear(model.width, model.width))
        optimizer.add_param_group({"params": model.parameters()})

    assert_check_failed(ex.q2, add_layer, match="parameters it already had")


def test_q2_layer_registered_but_not_added_to_model():
    def add_layer(model, optimizer):
        layer = nn.Linear(model.width, model.width)
        optimizer.add_param_group({"params": layer.parameters()})
        return layer

    assert_check_failed(ex.q2, add_layer, match="did not grow")


def test_q2_two_layers_added():
    def add_layer(model, optimizer):
        for _ in range(2):
            layer = nn.Linear(model.width, model.width)
            model.layers.append(layer)
            optimizer.add_param_group({"params": layer.parameters()})

    assert_check_failed(ex.q2, add_layer, match="grew by 2 layers")


def test_q2_wrong_layer_size():
    def add_layer(model, optimizer):
        layer = nn.Linear(model.width, 3)
        model.layers.append(layer)
        optimizer.add_param_group({"params": layer.parameters()})

    assert_check_failed(ex.q2, add_layer, match="must be `nn.Linear(model.width, model.width)`")


def test_q2_learning_rate_zero():
    def add_layer(model, optimizer):
        layer = nn.Linear(model.width, model.width)
        model.layers.append(layer)
        optimizer.add_param_group({"params": layer.parameters(), "lr": 0.0})

    assert_check_failed(ex.q2, add_layer, match="did not change after a training step: its parameter group has lr=0.0")


def test_q2_optimizer_reinitialised_in_place():
    def add_layer(model, optimizer):
        model.layers.append(nn.Linear(model.width, model.width))
        optimizer.__init__(model.parameters(), lr=0.01)

    assert_check_failed(ex.q2, add_layer, match="forgot what it had learned")


def test_q2_parameters_without_a_dict_get_the_course_message_and_line():
    def add_layer(model, optimizer):
        layer = nn.Linear(model.width, model.width)
        model.layers.append(layer)
        optimizer.add_param_group(layer.parameters())

    outcome = assert_check_failed(ex.q2, add_layer, match="`optimizer.add_param_group` takes one parameter group, "
                                                          "a dict, and you gave it a generator")
    assert "in add_layer: `optimizer.add_param_group(layer.parameters())`" in outcome.message


def test_q2_a_layer_given_as_its_params_gets_the_course_message():
    def add_layer(model, optimizer):
        layer = nn.Linear(model.width, model.width)
        model.layers.append(layer)
        optimizer.add_param_group({"params": layer})

    assert_check_failed(ex.q2, add_layer, match="a layer itself is not its parameters, `layer.parameters()` is")


def test_q2_wrong_signature():
    def add_layer(model):
        model.layers.append(nn.Linear(model.width, model.width))

    assert_check_failed(ex.q2, add_layer, match="cannot be called with")


# --- q4: heads by name -----------------------------------------------------------------------

def test_q4_alternative_add_module_and_sequential_trunk():
    class Alt(nn.Module):
        def __init__(self, in_features, hidden_features, heads):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(in_features, hidden_features), nn.ReLU())
            self.outputs = nn.ModuleDict()
            for name, size in heads.items():
                self.outputs.add_module(name, nn.Linear(hidden_features, size))

        def forward(self, x, which):
            return self.outputs[which](self.body(x))

    assert_check_passed(ex.q4, Alt)


def test_q4_alternative_heads_registered_before_trunk():
    class Alt(nn.Module):
        def __init__(self, in_features, hidden_features, heads):
            super().__init__()
            self.heads = nn.ModuleDict()
            for name in sorted(heads):
                self.heads[name] = nn.Linear(hidden_features, heads[name])
            self.shared = nn.Linear(in_features, hidden_features)

        def forward(self, x, head="digit"):
            return self.heads[head](nn.functional.relu(self.shared(x)))

    assert_check_passed(ex.q4, Alt)


class Q4Trunk(nn.Module):
    def __init__(self, in_features, hidden_features, heads):
        super().__init__()
        self.trunk = nn.Linear(in_features, hidden_features)


def test_q4_plain_dict():
    class Wrong(Q4Trunk):
        def __init__(self, i, h, heads):
            super().__init__(i, h, heads)
            self.heads = {name: nn.Linear(h, n) for name, n in heads.items()}

        def forward(self, x, head):
            return self.heads[head](torch.relu(self.trunk(x)))

    assert_check_failed(ex.q4, Wrong, match="plain Python dict or list (`self.heads`)")


def test_q4_keys_are_numbers():
    class Wrong(Q4Trunk):
        def __init__(self, i, h, heads):
            super().__init__(i, h, heads)
            self.heads = nn.ModuleDict({str(k): nn.Linear(h, n) for k, n in enumerate(heads.values())})
            self.names = list(heads)

        def forward(self, x, head):
            return self.heads[str(self.names.index(head))](torch.relu(self.trunk(x)))

    assert_check_failed(ex.q4, Wrong, match="keys should be the head names ['digit', 'parity']; yours are ['0', '1']")


def test_q4_always_first_head():
    class Wrong(Q4Trunk):
        def __init__(self, i, h, heads):
            super().__init__(i, h, heads)
            self.heads = nn.ModuleDict({name: nn.Linear(h, n) for name, n in heads.items()})

        def forward(self, x, head):
            return list(self.heads.values())[0](torch.relu(self.trunk(x)))

    assert_check_failed(ex.q4, Wrong, match="`model(x, 'parity')` has shape (5, 10); expected (5, 2)")


def test_q4_one_trunk_per_head():
    class Wrong(nn.Module):
        def __init__(self, i, h, heads):
            super().__init__()
            self.heads = nn.ModuleDict({
                name: nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, n)) for name, n in heads.items()})

        def forward(self, x, head):
            return self.heads[head](x)

    assert_check_failed(ex.q4, Wrong, match="Share ONE trunk")


def test_q4_trunk_without_relu():
    class Wrong(Q4Trunk):
        def __init__(self, i, h, heads):
            super().__init__(i, h, heads)
            self.heads = nn.ModuleDict({name: nn.Linear(h, n) for name, n in heads.items()})

        def forward(self, x, head):
            return self.heads[head](self.trunk(x))

    assert_check_failed(ex.q4, Wrong, match="trunk needs a ReLU")


def test_q4_heads_hard_coded():
    class Wrong(Q4Trunk):
        def __init__(self, i, h, heads):
            super().__init__(i, h, heads)
            self.heads = nn.ModuleDict({"digit": nn.Linear(h, 10), "parity": nn.Linear(h, 2)})

        def forward(self, x, head):
            return self.heads[head](torch.relu(self.trunk(x)))

    assert_check_failed(ex.q4, Wrong, match="head names ['colour']; yours are ['digit', 'parity']")


# --- a second review: more student answers ---------------------------------------------------

class ConditionalModuleDict(nn.Module):
    """Layers looked up in an nn.ModuleDict, output layer registered first, `use_extra` defaulted."""

    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.layers = nn.ModuleDict({"out": nn.Linear(hidden_features, out_features),
                                     "extra": nn.Linear(hidden_features, hidden_features),
                                     "inp": nn.Linear(in_features, hidden_features)})

    def forward(self, x, use_extra=False):
        h = self.layers["inp"](x).relu()
        if use_extra:
            h = self.layers["extra"](h).relu()
        return self.layers["out"](h)


def test_q1_more_alternatives():
    assert_check_passed(ex.q1, ConditionalModuleDict)


class ExtraAddedAsResidual(ConditionalModuleDict):
    def forward(self, x, use_extra):
        h = self.layers["inp"](x).relu()
        if use_extra:
            h = h + self.layers["extra"](h).relu()
        return self.layers["out"](h)


def test_q1_more_wrong():
    assert_check_failed(ex.q1, ExtraAddedAsResidual, match="With use_extra=True the output is not")


def add_layer_with_init_and_list(model, optimizer):
    new = nn.Linear(model.width, model.width)
    nn.init.kaiming_uniform_(new.weight)
    model.layers.extend([new])
    optimizer.add_param_group(dict(params=[new.weight, new.bias]))
    return new


def add_layer_into_existing_group(model, optimizer):
    new = nn.Linear(model.width, model.width)
    model.layers.append(new)
    optimizer.param_groups[0]["params"].extend(new.parameters())


def add_layer_rebuilding_the_list(model, optimizer):  # same old layer objects, so Adam's state stays
    new = nn.Linear(model.width, model.width)
    model.layers = nn.ModuleList([*model.layers, new])
    optimizer.add_param_group({"params": new.parameters()})


@pytest.mark.parametrize("answer", [add_layer_with_init_and_list, add_layer_into_existing_group,
                                    add_layer_rebuilding_the_list])
def test_q2_more_alternatives(answer):
    assert_check_passed(ex.q2, answer)


def add_frozen_layer(model, optimizer):
    new = nn.Linear(model.width, model.width).requires_grad_(False)
    model.layers.append(new)
    optimizer.add_param_group({"params": new.parameters()})


def add_layer_weight_only(model, optimizer):
    new = nn.Linear(model.width, model.width)
    model.layers.append(new)
    optimizer.add_param_group({"params": [new.weight]})


def add_layer_to_a_fresh_local_optimizer(model, optimizer):
    model.layers.append(nn.Linear(model.width, model.width))
    optimizer = torch.optim.Adam(model.parameters())  # noqa: F841 (the caller never sees it)


def add_layer_reinitialising_the_optimizer(model, optimizer):
    model.layers.append(nn.Linear(model.width, model.width))
    optimizer.__init__(model.parameters())


@pytest.mark.parametrize("answer, message", [
    (add_frozen_layer, "The new layer's parameters have requires_grad=False"),
    (add_layer_weight_only, "The optimizer does not know 1 parameter of the model (layers.2.bias)"),
    (add_layer_to_a_fresh_local_optimizer, "The optimizer does not know 2 parameters of the model"),
    (add_layer_reinitialising_the_optimizer, "The optimizer forgot what it had learned about the old layers"),
])
def test_q2_more_wrong(answer, message):
    assert_check_failed(ex.q2, answer, match=message)


class HeadsAddedOneByOne(nn.Module):
    """Heads added in sorted order with ModuleDict.update; trunk in an nn.Sequential."""

    def __init__(self, in_features, hidden_features, heads):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(in_features, hidden_features), nn.ReLU())
        self.outputs = nn.ModuleDict()
        for name in sorted(heads):
            self.outputs.update({name: nn.Linear(hidden_features, heads[name])})

    def forward(self, x, head):
        return self.outputs[head](self.trunk(x))


def test_q4_more_alternatives():
    assert_check_passed(ex.q4, HeadsAddedOneByOne)


class SoftmaxHead(HeadsAddedOneByOne):
    def forward(self, x, head):
        return torch.softmax(super().forward(x, head), dim=-1)


class FirstHeadAlways(HeadsAddedOneByOne):
    def forward(self, x, head):
        return next(iter(self.outputs.values()))(self.trunk(x))


@pytest.mark.parametrize("answer, message", [
    (SoftmaxHead, "is not `heads['digit'](relu(trunk(x)))`"),
    (FirstHeadAlways, "forward must use the head named by its second argument"),
])
def test_q4_more_wrong(answer, message):
    assert_check_failed(ex.q4, answer, match=message)


# --- q3: a conv block that starts as the identity, exactly ------------------------------------

class ZeroedConvBlock(nn.Module):
    """x + conv2(relu(conv1(x))) with conv2 set by ``init`` (the reference when it zeroes conv2)."""

    def init(self):
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, hidden_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(hidden_channels, channels, kernel_size=3, padding=1)
        with torch.no_grad():
            self.init()

    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x)))


class NearlyZero(ZeroedConvBlock):  # "near zero" passed the old check's tolerance
    def init(self):
        nn.init.normal_(self.conv2.weight, std=1e-6)
        nn.init.zeros_(self.conv2.bias)


class OnlyWeightZeroed(ZeroedConvBlock):
    def init(self):
        nn.init.zeros_(self.conv2.weight)


class NotZeroed(ZeroedConvBlock):
    def init(self):
        pass


class BothZeroed(ZeroedConvBlock):
    def init(self):
        for conv in (self.conv1, self.conv2):
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)


class ReLUAfterTheSum(ZeroedConvBlock):
    def forward(self, x):
        return torch.relu(super().forward(x))


class NoSkip(ZeroedConvBlock):
    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x)))


class NoPadding(ZeroedConvBlock):
    def __init__(self, channels, hidden_channels):
        super().__init__(channels, hidden_channels)
        self.conv1.padding = (0, 0)


class PastedLessonCell(nn.Module):  # the lesson's Linear ZeroInitBlock, copied: not a conv block
    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.expand = nn.Linear(channels, channels)
        self.project = nn.Linear(channels, channels)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, h):
        return h + self.project(torch.relu(self.expand(h)))


class DetachedBranch(ZeroedConvBlock):
    def forward(self, x):
        return x + self.conv2(torch.relu(self.conv1(x))).detach()


class TinyButNotZero(ZeroedConvBlock):  # std 1e-7: the old check took this for a bias
    def init(self):
        nn.init.normal_(self.conv2.weight, std=1e-7)
        nn.init.zeros_(self.conv2.bias)


class ReLUAtTheBranchEnd(ZeroedConvBlock):  # identity at start, but ReLU'(0) = 0 stops every gradient
    def forward(self, x):
        return x + torch.relu(self.conv2(torch.relu(self.conv1(x))))


@pytest.mark.parametrize("answer, message", [
    (TinyButNotZero, "Almost, but not exactly: the output differs from the input by up to"),
    (ReLUAtTheBranchEnd, "Your block starts as the identity but can never learn: no parameter gets a gradient, not "
                         "even the last convolution's bias. Something after the last convolution stops the gradient"),
    (NearlyZero, "Almost, but not exactly: the output differs from the input by up to"),
    (OnlyWeightZeroed, "the same value at every pixel of a channel: that is the last convolution's bias"),
    (NotZeroed, "When it is created, the block must return its input unchanged"),
    (BothZeroed, "Your block starts as the identity but can never learn: only biases get a gradient"),
    (ReLUAfterTheSum, "Negative inputs come out as 0"),
    (NoSkip, "Your block returns zeros: add the input back"),
    (NoPadding, "A 3×3 convolution with padding=0 changes the height and width"),
    (PastedLessonCell, "With IdentityAtStart(4, 6) the branch needs a 3×3 `nn.Conv2d(4, 6)`"),
    (DetachedBranch, "No gradient can flow into your block"),
])
def test_q3_wrong_answers(answer, message):
    assert_check_failed(ex.q3, answer, match=message)


class GatedConvBlock(nn.Module):
    """Both convolutions random, a learnable gate at exactly 0 (they learn from the second step)."""

    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(channels, hidden_channels, 3, padding=1), nn.ReLU(),
                                    nn.Conv2d(hidden_channels, channels, 3, padding=1))
        self.gate = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return x + self.gate * self.branch(x)


class ZeroedInPlaceUnderNoGrad(nn.Module):
    """Sequential branch, last conv zeroed with .zero_() under no_grad, padding='same', torch.add."""

    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.branch = nn.Sequential(nn.Conv2d(channels, hidden_channels, 3, padding="same"), nn.ReLU(),
                                    nn.Conv2d(hidden_channels, channels, 3, padding="same"))
        with torch.no_grad():
            self.branch[-1].weight.zero_()
            self.branch[-1].bias.zero_()

    def forward(self, x):
        return torch.add(x, self.branch(x))


class LastConvWithoutBias(nn.Module):
    """Last conv without bias, its weight set to 0 with constant_, layers registered in reverse."""

    def __init__(self, channels, hidden_channels):
        super().__init__()
        self.out = nn.Conv2d(hidden_channels, channels, 3, padding=1, bias=False)
        self.inp = nn.Conv2d(channels, hidden_channels, 3, padding=1)
        nn.init.constant_(self.out.weight, 0.0)

    def forward(self, x):
        residual = x
        return self.out(nn.functional.relu(self.inp(x))) + residual


@pytest.mark.parametrize("answer", [GatedConvBlock, ZeroedInPlaceUnderNoGrad, LastConvWithoutBias])
def test_q3_correct_answers_in_other_styles(answer):
    assert_check_passed(ex.q3, answer)


def test_q3_equality_is_exact_as_the_statement_says():
    outcome = assert_check_failed(ex.q3, NearlyZero, match="`torch.equal(block(x), x)` needs the branch to be exactly zero")
    assert "tiny random initialization is not zero" in outcome.message


# --- q5 (debugging): GrowingNet -----------------------------------------------------------------

class BrokenGrowingNet(nn.Module):  # the notebook's broken version, as handed out
    def __init__(self, width):
        super().__init__()
        self.width = width
        self.stem = nn.Linear(1, width)
        self.blocks = []
        self.head = nn.Linear(width, 1)

    def grow(self, optimizer):
        self.blocks.append(ex.Block(self.width))

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for block in self.blocks:
            h = block(h)
        return self.head(h)


class RegisteredOnly(BrokenGrowingNet):
    def __init__(self, width):
        super().__init__(width)
        self.blocks = nn.ModuleList()


def zero_block(width):
    block = ex.Block(width)
    nn.init.zeros_(block.project.weight)
    nn.init.zeros_(block.project.bias)
    return block


class RegisteredAndZeroed(RegisteredOnly):
    def grow(self, optimizer):
        self.blocks.append(zero_block(self.width))


class RebuildsTheOptimizer(RegisteredOnly):
    def grow(self, optimizer):
        self.blocks.append(zero_block(self.width))
        optimizer.__init__(self.parameters(), lr=0.01)  # a fresh state for every parameter


class ReplacesUnderOneName(RegisteredOnly):
    def grow(self, optimizer):
        block = zero_block(self.width)
        self.blocks.add_module("new", block)
        optimizer.add_param_group({"params": block.parameters()})


class GivesTheOptimizerEverything(RegisteredAndZeroed):
    def grow(self, optimizer):
        super().grow(optimizer)
        optimizer.add_param_group({"params": self.parameters()})


class NewBlockWithZeroLearningRate(RegisteredAndZeroed):
    def grow(self, optimizer):
        super().grow(optimizer)
        optimizer.add_param_group({"params": self.blocks[-1].parameters(), "lr": 0.0})


class NoGrowMethod(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.stem, self.head = nn.Linear(1, width), nn.Linear(width, 1)

    def forward(self, x):
        return self.head(torch.relu(self.stem(x)))


class ExpandZeroedToo(RegisteredOnly):
    """Both layers of the new block zeroed: the output is kept, but only project.bias can ever move."""

    def grow(self, optimizer):
        block = ex.Block(self.width)
        for parameter in block.parameters():
            nn.init.zeros_(parameter)
        self.blocks.append(block)
        optimizer.add_param_group({"params": block.parameters()})


class ForwardSkipsTheBlocks(RegisteredAndZeroed):
    """grow is right, but forward never runs the blocks (the output cannot change, nothing trains them)."""

    def grow(self, optimizer):
        super().grow(optimizer)
        optimizer.add_param_group({"params": self.blocks[-1].parameters()})

    def forward(self, x):
        return self.head(torch.relu(self.stem(x)))


class NewBlockFrozen(RegisteredAndZeroed):
    def grow(self, optimizer):
        super().grow(optimizer)
        self.blocks[-1].requires_grad_(False)
        optimizer.add_param_group({"params": self.blocks[-1].parameters()})


class GroupGivenAsAGenerator(RegisteredAndZeroed):
    def grow(self, optimizer):
        super().grow(optimizer)
        optimizer.add_param_group(self.blocks[-1].parameters())


@pytest.mark.parametrize("answer, message", [
    (BrokenGrowingNet, "After `grow` the new block is missing from `parameters()` and `state_dict()`: PyTorch does "
                       "not see what `self.blocks` holds"),
    (RegisteredOnly, "Growing changed the network's output (largest difference"),
    (RegisteredAndZeroed, "The optimizer passed to `grow` does not hold 4 of the network's parameters "
                          "(blocks.0.expand.weight"),
    (RebuildsTheOptimizer, "The optimizer forgot what it had learned about 'stem.weight'"),
    (ReplacesUnderOneName, "The second call of `grow` added no parameters: the new block took the first one's place"),
    (GivesTheOptimizerEverything, "You gave the optimizer parameters it already had"),
    (NewBlockWithZeroLearningRate, "The new block did not change in two training steps"),
    (NoGrowMethod, "Your GrowingNet has no `grow` method"),
    (ExpandZeroedToo, "After two training steps the new block's weights are still exactly as they were created; "
                      "only its biases moved"),
    (ForwardSkipsTheBlocks, "The new block never takes part in forward: after a backward pass its parameters have "
                            "no gradient at all"),
    (NewBlockFrozen, "The new block's parameters have requires_grad=False"),
    (GroupGivenAsAGenerator, "`optimizer.add_param_group` takes one parameter group, a dict, and you gave it a "
                             "generator"),
])
def test_q5_wrong_answers_say_which_symptom_is_left(answer, message):
    assert_check_failed(ex.q5, answer, match=message)


def test_q5_title_first_message_and_first_hints_name_symptoms_not_fixes():
    outcome = assert_check_failed(ex.q5, BrokenGrowingNet)
    for text in (ex.q5.title, outcome.message, ex.q5.hints[0], ex.q5.hints[1]):
        assert "ModuleList" not in text and "add_param_group" not in text and "zeros_" not in text
    assert "nn.ModuleList" in ex.q5.hints[-1] and "add_param_group" in ex.q5.hints[-1]


def test_q5_the_broken_network_handed_out_is_the_one_tested():
    cells = json.loads((REPO / "solutions" / "07_dynamic_growth.ipynb").read_text(encoding="utf-8"))["cells"]
    handed_out = next("".join(c["source"]) for c in cells if "class BrokenGrowingNet" in "".join(c["source"]))
    tree = ast.parse(handed_out)
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    namespace = {"torch": torch, "nn": nn, "Block": ex.Block}
    exec(compile(ast.Module(body=[cls], type_ignores=[]), "notebook", "exec"), namespace)
    outcome = assert_check_failed(ex.q5, namespace["BrokenGrowingNet"])
    assert outcome.message == ex.q5.evaluate(BrokenGrowingNet).message


def test_q5_a_parameter_given_twice_points_at_the_students_line():
    outcome = assert_check_failed(ex.q5, GivesTheOptimizerEverything, match="already had")
    assert "in grow: `optimizer.add_param_group({\"params\": self.parameters()})`" in outcome.message


class GrowingNetSequentialBlocks(nn.Module):
    """Blocks in an nn.Sequential grown with append; zeroed under no_grad; parameters as a list."""

    def __init__(self, width):
        super().__init__()
        self.width = width
        self.stem = nn.Linear(1, width)
        self.blocks = nn.Sequential()
        self.head = nn.Linear(width, 1)

    def grow(self, optimizer):
        block = ex.Block(self.width)
        with torch.no_grad():
            block.project.weight.zero_()
            block.project.bias.zero_()
        self.blocks.append(block)
        optimizer.add_param_group({"params": list(block.parameters())})

    def forward(self, x):
        return self.head(self.blocks(torch.relu(self.stem(x))))


class GrowingNetNamedBlocks(GrowingNetSequentialBlocks):
    """add_module with a new name each time; the group gets its own learning rate."""

    def __init__(self, width):
        super().__init__(width)
        self.blocks = nn.ModuleDict()

    def grow(self, optimizer):
        block = zero_block(self.width)
        self.blocks.add_module(f"block{len(self.blocks) + 1}", block)
        optimizer.add_param_group({"params": block.parameters(), "lr": 0.001})

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for block in self.blocks.values():
            h = block(h)
        return self.head(h)


class GrowingNetZeroInitBlock(RegisteredOnly):
    """A subclass of Block that zeroes itself, like the lesson's ZeroInitBlock."""

    class ZeroInitBlock(ex.Block):
        def __init__(self, width):
            super().__init__(width)
            nn.init.zeros_(self.project.weight)
            nn.init.zeros_(self.project.bias)

    def grow(self, optimizer):
        new = self.ZeroInitBlock(self.width)
        self.blocks.append(new)
        optimizer.add_param_group({"params": new.parameters()})


@pytest.mark.parametrize("answer", [GrowingNetSequentialBlocks, GrowingNetNamedBlocks, GrowingNetZeroInitBlock])
def test_q5_correct_answers_in_other_styles(answer):
    assert_check_passed(ex.q5, answer)
