"""Every model of the seed documents (/work/shared/seeds/), as factories with example inputs.

Why: the picture tools must work for every model a lesson shows, including conditional
forward passes and the seed's failing ``ResNetLike``. Classes are copied as the seeds wrote
them (names too); the only change is smaller images (16×16 instead of 224×224 or 32×32) where a seed
used large ones, so that drawing stays fast — shapes scale, the structure is the same.

``SEED_MODELS[name]()`` returns ``(model, inputs, kwargs)``; ``FAILING`` names the models whose
forward raises with their example inputs.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


# --- seed 000: branching, residual, dynamic input -------------------------------------------
class BranchingConvNet(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(BranchingConvNet, self).__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, padding=1)
        self.conv2_branch1 = nn.Conv2d(64, out_channels, kernel_size=3, padding=1)
        self.conv2_branch2 = nn.Conv2d(64, out_channels, kernel_size=5, padding=2)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.relu(self.conv1(x))
        branch1_out = self.conv2_branch1(x)
        branch2_out = self.conv2_branch2(x)
        out = torch.cat((branch1_out, branch2_out), dim=1)
        return out


class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(ResidualBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x):
        residual = x
        x = self.relu(self.conv1(x))
        x = self.conv2(x)
        out = x + residual
        return out


class ResNetLike(nn.Module):
    def __init__(self, in_channels, out_channels):
        super(ResNetLike, self).__init__()
        self.res_block1 = ResidualBlock(in_channels, 64)
        self.res_block2 = ResidualBlock(64, out_channels)

    def forward(self, x):
        x = self.res_block1(x)
        x = self.res_block2(x)
        return x


class DynamicLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super(DynamicLayerNet, self).__init__()
        self.linear1 = nn.Linear(in_features, hidden_features)
        self.linear2 = nn.Linear(hidden_features, out_features)
        self.relu = nn.ReLU()

    def forward(self, x, condition):
        x = self.relu(self.linear1(x))
        if condition:
            x = self.relu(self.linear2(x))
        return x


# --- seed 001: growing a network --------------------------------------------------------------
def _dynamic_sequential():
    class DynamicModel(nn.Module):
        def __init__(self, initial_layers):
            super().__init__()
            self.layers = nn.Sequential(*initial_layers)

        def add_layer(self, layer):
            self.layers.add_module(str(len(self.layers)), layer)

        def forward(self, x):
            return self.layers(x)

    model = DynamicModel([nn.Linear(10, 20), nn.ReLU()])
    model.add_layer(nn.Linear(20, 30))
    model.add_layer(nn.ReLU())
    return model


def _dynamic_module_list():
    class DynamicModel(nn.Module):
        def __init__(self, initial_layers):
            super().__init__()
            self.layers = nn.ModuleList(initial_layers)

        def add_layer(self, layer):
            self.layers.append(layer)

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    model = DynamicModel([nn.Linear(10, 20), nn.ReLU()])
    model.add_layer(nn.Linear(20, 30))
    return model


class AdaptiveLayer(nn.Module):
    def __init__(self, input_size, output_size, add_condition):
        super().__init__()
        self.add_condition = add_condition
        self.linear = nn.Linear(input_size, output_size)
        self.relu = nn.ReLU()

    def forward(self, x):
        if self.add_condition:
            x = self.linear(x)
            x = self.relu(x)
        return x


def _adaptive(enabled):
    class DynamicModel(nn.Module):
        def __init__(self, input_size, initial_output_size):
            super().__init__()
            self.initial_layer = nn.Linear(input_size, initial_output_size)
            self.adaptive_layer = AdaptiveLayer(initial_output_size, 2 * initial_output_size, False)

        def enable_adaptive_layer(self):
            self.adaptive_layer.add_condition = True

        def forward(self, x):
            x = self.initial_layer(x)
            x = self.adaptive_layer(x)
            return x

    model = DynamicModel(10, 20)
    if enabled:
        model.enable_adaptive_layer()
    return model


# --- seed 002: stacking -----------------------------------------------------------------------
class MySimpleStack(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.relu = nn.ReLU()
        self.linear2 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        x = self.linear1(x)
        x = self.relu(x)
        x = self.linear2(x)
        return x


class MySequentialStack(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(input_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, output_size)
        )

    def forward(self, x):
        return self.layers(x)


class MyComplexStack(nn.Module):
    def __init__(self, input_size, hidden_size1, hidden_size2, output_size):
        super().__init__()
        self.branch1 = nn.Sequential(nn.Linear(input_size, hidden_size1), nn.ReLU())
        self.branch2 = nn.Sequential(nn.Linear(input_size, hidden_size2), nn.ReLU())
        self.final_linear = nn.Linear(hidden_size1 + hidden_size2, output_size)

    def forward(self, x):
        x1 = self.branch1(x)
        x2 = self.branch2(x)
        x_combined = torch.cat((x1, x2), dim=1)
        x_final = self.final_linear(x_combined)
        return x_final


# --- seed 003: the Sequential shortcut ----------------------------------------------------
class SimpleModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        x = self.fc1(x)
        x = self.fc2(x)
        return x


class SkipModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(10, 10)
        self.fc2 = nn.Linear(10, 10)

    def forward(self, x):
        out1 = self.fc1(x)
        out2 = self.fc2(out1) + out1
        return out2


# --- seed 004: Sequential never adds ------------------------------------------------------
class IncorrectAdditionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
        self.seq = nn.Sequential(self.conv1, self.conv2)

    def forward(self, x):
        out = self.seq(x)
        return out


class CorrectAdditionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)

    def forward(self, x):
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        added_out = out1 + out2
        return added_out


class WeightedAdditionModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.alpha = nn.Parameter(torch.tensor(0.5))

    def forward(self, x):
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        added_out = self.alpha * out1 + (1 - self.alpha) * out2
        return added_out


def _vector(size=10):
    return torch.randn(1, size, generator=torch.Generator().manual_seed(0))


def _image(channels=3, side=16):
    return torch.randn(1, channels, side, side, generator=torch.Generator().manual_seed(0))


def _seeded(factory):
    """Same weights every time: golden files and stored outputs must not depend on luck."""
    def build():
        torch.manual_seed(0)
        return factory()
    build.__doc__ = factory.__doc__
    return build


SEED_MODELS = {
    "000_branching_conv_net": _seeded(lambda: (BranchingConvNet(3, 128), (_image(),), {})),
    "000_resnet_like": _seeded(lambda: (ResNetLike(3, 128), (_image(),), {})),
    "000_residual_block": _seeded(lambda: (ResidualBlock(64, 64), (_image(64, 16),), {})),
    "000_dynamic_layer_net_on": _seeded(lambda: (DynamicLayerNet(10, 20, 5), (_vector(), True), {})),
    "000_dynamic_layer_net_off": _seeded(
        lambda: (DynamicLayerNet(10, 20, 5), (_vector(), False), {})),
    "001_dynamic_sequential": _seeded(lambda: (_dynamic_sequential(), (_vector(),), {})),
    "001_dynamic_module_list": _seeded(lambda: (_dynamic_module_list(), (_vector(),), {})),
    "001_adaptive_disabled": _seeded(lambda: (_adaptive(False), (_vector(),), {})),
    "001_adaptive_enabled": _seeded(lambda: (_adaptive(True), (_vector(),), {})),
    "002_my_simple_stack": _seeded(lambda: (MySimpleStack(10, 20, 5), (_vector(),), {})),
    "002_my_sequential_stack": _seeded(lambda: (MySequentialStack(10, 20, 5), (_vector(),), {})),
    "002_my_complex_stack": _seeded(
        lambda: (MyComplexStack(10, 15, 20, 5), (_vector(),), {})),
    "003_simple_model": _seeded(lambda: (SimpleModel(), (_vector(),), {})),
    "003_sequential": _seeded(lambda: (
        nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2)), (_vector(),), {})),
    "003_ordered_dict": _seeded(lambda: (nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(10, 5)), ("relu", nn.ReLU()), ("fc2", nn.Linear(5, 2))])),
        (_vector(),), {})),
    "003_skip_model": _seeded(lambda: (SkipModel(), (_vector(),), {})),
    "003_named_conv_stack": _seeded(lambda: (nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(3, 16, 3)), ("relu1", nn.ReLU()),
        ("conv2", nn.Conv2d(16, 32, 3)), ("relu2", nn.ReLU())])), (_image(),), {})),
    "004_incorrect_addition": _seeded(lambda: (IncorrectAdditionModel(), (_image(),), {})),
    "004_correct_addition": _seeded(lambda: (CorrectAdditionModel(), (_image(),), {})),
    "004_weighted_addition": _seeded(lambda: (WeightedAdditionModel(), (_image(),), {})),
}

# Models whose forward raises with the example input (the seed's own mistake).
FAILING = {"000_resnet_like"}
