"""Answers to lesson 07's exercises, as data: right ones in other idioms, wrong ones with the
words the student must read. ``tests/unit/test_every_exercise.py`` judges every entry (on the
notebook's inputs and on a grader's fresh ones); ``tests/unit/test_lesson07.py`` keeps the tests
of special behaviour (the student's line, the broken network handed out, the first message)."""

import copy

import torch
from torch import nn

from course_utils.exercises import lesson07 as ex
from course_utils.exercises.testing import Right, Status, Wrong


# --- q1: forward(x, use_extra) -------------------------------------------------------------

class Q1Base(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.first, self.extra, self.last = nn.Linear(i, h), nn.Linear(h, h), nn.Linear(h, o)


class SequentialPartsOtherOrder(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.head = nn.Linear(h, o)          # registered first: found by shape, not order
        self.body = nn.Sequential(nn.Linear(i, h), nn.ReLU())
        self.optional = nn.Sequential(nn.Linear(h, h), nn.ReLU())

    def forward(self, x, flag=False):
        x = self.body(x)
        return self.head(self.optional(x) if flag else x)


class FunctionalReluModuleList(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(i, h), nn.Linear(h, h), nn.Linear(h, o)])

    def forward(self, x, condition):
        x = nn.functional.relu(self.layers[0](x))
        if condition:
            x = nn.functional.relu(self.layers[1](x))
        return self.layers[2](x)


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


class ExtraBuiltInForward(nn.Module):
    def __init__(self, i, h, o):
        super().__init__()
        self.first, self.last, self.h = nn.Linear(i, h), nn.Linear(h, o), h

    def forward(self, x, use_extra):
        x = torch.relu(self.first(x))
        if use_extra:
            x = torch.relu(nn.Linear(self.h, self.h)(x))
        return self.last(x)


class ConditionIgnored(Q1Base):
    def forward(self, x, use_extra):
        return self.last(torch.relu(self.extra(torch.relu(self.first(x)))))


class ConditionInverted(Q1Base):
    def forward(self, x, use_extra):
        h = torch.relu(self.first(x))
        if not use_extra:
            h = torch.relu(self.extra(h))
        return self.last(h)


class ReLUOnOutput(Q1Base):   # like the seed
    def forward(self, x, use_extra):
        h = torch.relu(self.first(x))
        if use_extra:
            h = torch.relu(self.extra(h))
        return torch.relu(self.last(h))


class MissingReLUAfterExtra(Q1Base):
    def forward(self, x, use_extra):
        h = torch.relu(self.first(x))
        if use_extra:
            h = self.extra(h)
        return self.last(h)


class ForwardWithoutCondition(Q1Base):
    def forward(self, x):
        return self.last(torch.relu(self.first(x)))


class IndexedPastTheEnd(Q1Base):
    def forward(self, x, use_extra):
        return self.last(torch.relu(self.first(x)))[100]


class ExtraAddedAsResidual(ConditionalModuleDict):
    def forward(self, x, use_extra):
        h = self.layers["inp"](x).relu()
        if use_extra:
            h = h + self.layers["extra"](h).relu()
        return self.layers["out"](h)


Q1 = [
    Right(SequentialPartsOtherOrder),
    Right(FunctionalReluModuleList),
    Right(ConditionalModuleDict),
    Wrong(ExtraBuiltInForward, "67 registered parameters; expected 139"),
    Wrong(ConditionIgnored, "same output whether the switch is True or False"),
    Wrong(ConditionInverted, "wrong way round"),
    Wrong(ReLUOnOutput, "ReLU at the end"),
    Wrong(MissingReLUAfterExtra, "ReLU after the extra layer"),
    Wrong(ForwardWithoutCondition, "second argument"),
    Wrong(ex.q1.solution_object()(4, 8, 3), "class itself", name="instance"),
    Wrong(IndexedPastTheEnd, "IndexError", Status.ERROR),
    Wrong(ExtraAddedAsResidual, "With use_extra=True the output is not"),
]


# --- q2: add a layer and register it ---------------------------------------------------------

def add_layer_registering_all_unknown_parameters(model, optimizer):
    model.layers.append(nn.Linear(model.width, model.width))
    known = {id(p) for g in optimizer.param_groups for p in g["params"]}
    optimizer.add_param_group({"params": [p for p in model.parameters() if id(p) not in known]})


def add_layer_list_of_parameters_and_own_lr(model, optimizer):
    layer = nn.Linear(model.width, model.width)
    nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
    model.layers.add_module(str(len(model.layers)), layer)
    optimizer.add_param_group({"params": [layer.weight, layer.bias], "lr": 0.05})
    return layer


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


def optimizer_not_told(model, optimizer):
    model.layers.append(nn.Linear(model.width, model.width))


def all_parameters_registered_again(model, optimizer):
    model.layers.append(nn.Linear(model.width, model.width))
    optimizer.add_param_group({"params": model.parameters()})


def layer_registered_but_not_added_to_model(model, optimizer):
    layer = nn.Linear(model.width, model.width)
    optimizer.add_param_group({"params": layer.parameters()})
    return layer


def two_layers_added(model, optimizer):
    for _ in range(2):
        layer = nn.Linear(model.width, model.width)
        model.layers.append(layer)
        optimizer.add_param_group({"params": layer.parameters()})


def wrong_layer_size(model, optimizer):
    layer = nn.Linear(model.width, 3)
    model.layers.append(layer)
    optimizer.add_param_group({"params": layer.parameters()})


def learning_rate_zero(model, optimizer):
    layer = nn.Linear(model.width, model.width)
    model.layers.append(layer)
    optimizer.add_param_group({"params": layer.parameters(), "lr": 0.0})


def optimizer_reinitialised_in_place(model, optimizer):
    model.layers.append(nn.Linear(model.width, model.width))
    optimizer.__init__(model.parameters(), lr=0.01)


def parameters_without_a_dict(model, optimizer):
    layer = nn.Linear(model.width, model.width)
    model.layers.append(layer)
    optimizer.add_param_group(layer.parameters())


def layer_given_as_its_params(model, optimizer):
    layer = nn.Linear(model.width, model.width)
    model.layers.append(layer)
    optimizer.add_param_group({"params": layer})


def without_the_optimizer(model):
    model.layers.append(nn.Linear(model.width, model.width))


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


def add_layer_rebuilding_with_copies(model, optimizer):  # copies start without Adam's running averages
    old = [copy.deepcopy(layer) for layer in model.layers]
    new = nn.Linear(model.width, model.width)
    model.layers = nn.ModuleList([*old, new])
    optimizer.add_param_group({"params": [p for layer in [*old, new] for p in layer.parameters()]})

Q2 = [
    Right(add_layer_registering_all_unknown_parameters),
    Right(add_layer_list_of_parameters_and_own_lr),
    Right(add_layer_with_init_and_list),
    Right(add_layer_into_existing_group),
    Right(add_layer_rebuilding_the_list),
    Wrong(optimizer_not_told, "optimizer does not know 2 parameters of the model (layers.2.weight"),
    Wrong(all_parameters_registered_again, "parameters it already had"),
    Wrong(layer_registered_but_not_added_to_model, "did not grow"),
    Wrong(two_layers_added, "grew by 2 layers"),
    Wrong(wrong_layer_size, "must be `nn.Linear(model.width, model.width)`"),
    Wrong(learning_rate_zero, "did not change after a training step: its parameter group has lr=0.0"),
    Wrong(optimizer_reinitialised_in_place, "forgot what it had learned"),
    Wrong(parameters_without_a_dict, "`optimizer.add_param_group` takes one parameter group, a dict, and you gave it "
                                     "a generator"),
    Wrong(layer_given_as_its_params, "a layer itself is not its parameters, `layer.parameters()` is"),
    Wrong(without_the_optimizer, "cannot be called with"),
    Wrong(add_frozen_layer, "The new layer's parameters have requires_grad=False"),
    Wrong(add_layer_weight_only, "The optimizer does not know 1 parameter of the model (layers.2.bias)"),
    Wrong(add_layer_to_a_fresh_local_optimizer, "The optimizer does not know 2 parameters of the model"),
    Wrong(add_layer_reinitialising_the_optimizer, "The optimizer forgot what it had learned about the old layers"),
    Wrong(add_layer_rebuilding_with_copies, "The optimizer forgot what it had learned about the old layers"),
]


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


Q3 = [
    Right(GatedConvBlock),
    Right(ZeroedInPlaceUnderNoGrad),
    Right(LastConvWithoutBias),
    Wrong(TinyButNotZero, "Almost, but not exactly: the output differs from the input by up to"),
    Wrong(ReLUAtTheBranchEnd, "Your block starts as the identity but can never learn: no parameter gets a gradient, "
                              "not even the last convolution's bias. Something after the last convolution stops the "
                              "gradient"),
    Wrong(NearlyZero, "Almost, but not exactly: the output differs from the input by up to"),
    Wrong(NearlyZero, "`torch.equal(block(x), x)` needs the branch to be exactly zero: a tiny random initialization "
                      "is not zero", name="NearlyZero-exact"),
    Wrong(OnlyWeightZeroed, "the same value at every pixel of a channel: that is the last convolution's bias"),
    Wrong(NotZeroed, "When it is created, the block must return its input unchanged"),
    Wrong(BothZeroed, "Your block starts as the identity but can never learn: only biases get a gradient"),
    Wrong(ReLUAfterTheSum, "Negative inputs come out as 0"),
    Wrong(NoSkip, "Your block returns zeros: add the input back"),
    Wrong(NoPadding, "A 3×3 convolution with padding=0 changes the height and width"),
    Wrong(PastedLessonCell, "With IdentityAtStart(4, 6) the branch needs a 3×3 `nn.Conv2d(4, 6)`"),
    Wrong(DetachedBranch, "No gradient can flow into your block"),
]


# --- q4: heads by name -----------------------------------------------------------------------

class AddModuleSequentialTrunk(nn.Module):
    def __init__(self, in_features, hidden_features, heads):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden_features), nn.ReLU())
        self.outputs = nn.ModuleDict()
        for name, size in heads.items():
            self.outputs.add_module(name, nn.Linear(hidden_features, size))

    def forward(self, x, which):
        return self.outputs[which](self.body(x))


class HeadsRegisteredBeforeTrunk(nn.Module):
    def __init__(self, in_features, hidden_features, heads):
        super().__init__()
        self.heads = nn.ModuleDict()
        for name in sorted(heads):
            self.heads[name] = nn.Linear(hidden_features, heads[name])
        self.shared = nn.Linear(in_features, hidden_features)

    def forward(self, x, head="digit"):
        return self.heads[head](nn.functional.relu(self.shared(x)))


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


class Q4Trunk(nn.Module):
    def __init__(self, in_features, hidden_features, heads):
        super().__init__()
        self.trunk = nn.Linear(in_features, hidden_features)


class HeadsInAPlainDict(Q4Trunk):
    def __init__(self, i, h, heads):
        super().__init__(i, h, heads)
        self.heads = {name: nn.Linear(h, n) for name, n in heads.items()}

    def forward(self, x, head):
        return self.heads[head](torch.relu(self.trunk(x)))


class KeysAreNumbers(Q4Trunk):
    def __init__(self, i, h, heads):
        super().__init__(i, h, heads)
        self.heads = nn.ModuleDict({str(k): nn.Linear(h, n) for k, n in enumerate(heads.values())})
        self.names = list(heads)

    def forward(self, x, head):
        return self.heads[str(self.names.index(head))](torch.relu(self.trunk(x)))


class AlwaysTheFirstHead(Q4Trunk):
    def __init__(self, i, h, heads):
        super().__init__(i, h, heads)
        self.heads = nn.ModuleDict({name: nn.Linear(h, n) for name, n in heads.items()})

    def forward(self, x, head):
        return list(self.heads.values())[0](torch.relu(self.trunk(x)))


class OneTrunkPerHead(nn.Module):
    def __init__(self, i, h, heads):
        super().__init__()
        self.heads = nn.ModuleDict({
            name: nn.Sequential(nn.Linear(i, h), nn.ReLU(), nn.Linear(h, n)) for name, n in heads.items()})

    def forward(self, x, head):
        return self.heads[head](x)


class TrunkWithoutReLU(Q4Trunk):
    def __init__(self, i, h, heads):
        super().__init__(i, h, heads)
        self.heads = nn.ModuleDict({name: nn.Linear(h, n) for name, n in heads.items()})

    def forward(self, x, head):
        return self.heads[head](self.trunk(x))


class HeadsHardCoded(Q4Trunk):
    def __init__(self, i, h, heads):
        super().__init__(i, h, heads)
        self.heads = nn.ModuleDict({"digit": nn.Linear(h, 10), "parity": nn.Linear(h, 2)})

    def forward(self, x, head):
        return self.heads[head](torch.relu(self.trunk(x)))


class SoftmaxHead(HeadsAddedOneByOne):
    def forward(self, x, head):
        return torch.softmax(super().forward(x, head), dim=-1)


class FirstHeadAlways(HeadsAddedOneByOne):
    def forward(self, x, head):
        return next(iter(self.outputs.values()))(self.trunk(x))


class HeadSizesSwapped(Q4Trunk):
    """Every key there, but each head has another head's size: found by where it sits, not only by shape."""

    def __init__(self, i, h, heads):
        super().__init__(i, h, heads)
        self.heads = nn.ModuleDict({name: nn.Linear(h, n) for name, n in zip(heads, reversed(heads.values()))})

    def forward(self, x, head):
        return self.heads[head](torch.relu(self.trunk(x)))

Q4 = [
    Right(AddModuleSequentialTrunk),
    Right(HeadsRegisteredBeforeTrunk),
    Right(HeadsAddedOneByOne),
    Wrong(HeadsInAPlainDict, "plain Python dict or list (`self.heads`)"),
    Wrong(KeysAreNumbers, "keys should be the head names ['digit', 'parity']; yours are ['0', '1']"),
    Wrong(AlwaysTheFirstHead, "`model(x, 'parity')` has shape (5, 10); expected (5, 2)"),
    Wrong(OneTrunkPerHead, "Share ONE trunk"),
    Wrong(TrunkWithoutReLU, "trunk needs a ReLU"),
    Wrong(HeadsHardCoded, "head names ['colour']; yours are ['digit', 'parity']"),
    Wrong(SoftmaxHead, "is not `heads['digit'](relu(trunk(x)))`"),
    Wrong(FirstHeadAlways, "forward must use the head named by its second argument"),
    Wrong(HeadSizesSwapped, "No registered `nn.Linear(8, 10)` for the head 'digit' (8 → 10); your registered Linear "
                            "layers: Linear(4, 8), Linear(8, 2), Linear(8, 10)."),
]


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


Q5 = [
    Right(GrowingNetSequentialBlocks),
    Right(GrowingNetNamedBlocks),
    Right(GrowingNetZeroInitBlock),
    Wrong(BrokenGrowingNet, "After `grow` the new block is missing from `parameters()` and `state_dict()`: PyTorch "
                            "does not see what `self.blocks` holds"),
    Wrong(RegisteredOnly, "Growing changed the network's output (largest difference"),
    Wrong(RegisteredAndZeroed, "The optimizer passed to `grow` does not hold 4 of the network's parameters "
                               "(blocks.0.expand.weight"),
    Wrong(RebuildsTheOptimizer, "The optimizer forgot what it had learned about 'stem.weight'"),
    Wrong(ReplacesUnderOneName, "The second call of `grow` added no parameters: the new block took the first one's "
                                "place"),
    Wrong(GivesTheOptimizerEverything, "You gave the optimizer parameters it already had"),
    Wrong(NewBlockWithZeroLearningRate, "The new block did not change in two training steps"),
    Wrong(NoGrowMethod, "Your GrowingNet has no `grow` method"),
    Wrong(ExpandZeroedToo, "After two training steps the new block's weights are still exactly as they were "
                           "created; only its biases moved"),
    Wrong(ForwardSkipsTheBlocks, "The new block never takes part in forward: after a backward pass its parameters "
                                 "have no gradient at all"),
    Wrong(NewBlockFrozen, "The new block's parameters have requires_grad=False"),
    Wrong(GroupGivenAsAGenerator, "`optimizer.add_param_group` takes one parameter group, a dict, and you gave it a "
                                  "generator"),
]

BANK = {"q1": Q1, "q2": Q2, "q3": Q3, "q4": Q4, "q5": Q5}
