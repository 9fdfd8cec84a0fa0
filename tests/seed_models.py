"""Every model of the seed documents, as factories with example inputs.

Why: the picture tools must work for every model a lesson shows, including conditional
forward passes and the seed's failing ``ResNetLike``. The classes are not copied here: they
are executed from the seeds' own code in ``tests/seed_examples/`` (class definitions and
imports only, not the examples' usage lines), so the golden files describe exactly what the
seeds wrote. The one change is smaller images (16×16 instead of 224×224 or 32×32), so that
drawing stays fast — shapes scale, the structure is the same.

``SEED_MODELS[name]()`` returns ``(model, inputs, kwargs)``; ``FAILING`` names the models whose
forward raises with their example inputs.
"""

from __future__ import annotations

import ast
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

EXAMPLES = Path(__file__).resolve().parent / "seed_examples"


def seed_classes(example: str) -> dict:
    """The classes that seed example ``example`` (e.g. ``"000_2"``) defines, by name."""
    path = EXAMPLES / f"{example}.py"
    tree = ast.parse(path.read_text())
    kept = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom, ast.ClassDef))]
    namespace: dict = {"torch": torch, "nn": nn, "OrderedDict": OrderedDict}  # seed 003 omits imports
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(path), "exec"), namespace)
    return {name: value for name, value in namespace.items()
            if isinstance(value, type) and issubclass(value, nn.Module) and name in _defined(kept)}


def _defined(nodes) -> set[str]:
    return {node.name for node in nodes if isinstance(node, ast.ClassDef)}


BranchingConvNet = seed_classes("000_1")["BranchingConvNet"]
ResidualBlock = seed_classes("000_2")["ResidualBlock"]
ResNetLike = seed_classes("000_2")["ResNetLike"]
DynamicLayerNet = seed_classes("000_3")["DynamicLayerNet"]
MySimpleStack = seed_classes("002_1")["MySimpleStack"]
MySequentialStack = seed_classes("002_2")["MySequentialStack"]
MyComplexStack = seed_classes("002_3")["MyComplexStack"]
SimpleModel = seed_classes("003_1")["SimpleModel"]
SkipModel = seed_classes("003_6")["SkipModel"]
IncorrectAdditionModel = seed_classes("004_1")["IncorrectAdditionModel"]
CorrectAdditionModel = seed_classes("004_2")["CorrectAdditionModel"]
WeightedAdditionModel = seed_classes("004_3")["WeightedAdditionModel"]


# --- seed 001: the three DynamicModel classes, grown as the seed grows them -------------------
def _dynamic_sequential():
    model = seed_classes("001_1")["DynamicModel"]([nn.Linear(10, 20), nn.ReLU()])
    model.add_layer(nn.Linear(20, 30))
    model.add_layer(nn.ReLU())
    return model


def _dynamic_module_list():
    model = seed_classes("001_2")["DynamicModel"]([nn.Linear(10, 20), nn.ReLU()])
    model.add_layer(nn.Linear(20, 30))
    return model


def _adaptive(enabled):
    model = seed_classes("001_3")["DynamicModel"](10, 20)
    if enabled:
        model.enable_adaptive_layer()
    return model


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
