"""Blocks and networks of the lesson notebooks, as factories with example inputs.

Why: the forward graph of a lesson's own model must be right (issue 22: lesson 08's
``DigitNet`` drew ``res1``'s ``nn.Identity`` shortcut in series before ``conv1``). The classes
are not copied here: they are executed from the notebooks' own cells (class definitions only),
so the golden files follow the lessons as they are edited. Inputs are small, the structure is
the lesson's.

``LESSON_MODELS[name]()`` returns ``(model, inputs, kwargs)`` like ``seed_models.SEED_MODELS``.
"""

from __future__ import annotations

import ast
import json
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@lru_cache(maxsize=None)
def lesson_classes(notebook: str) -> dict:
    """Every ``nn.Module`` class that ``notebooks/<notebook>.ipynb`` defines, by name."""
    path = NOTEBOOKS / f"{notebook}.ipynb"
    kept = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse("".join(cell["source"]))
        except SyntaxError:  # a cell with IPython magics defines no class
            continue
        kept += [node for node in tree.body if isinstance(node, ast.ClassDef)]
    namespace: dict = {"torch": torch, "nn": nn, "F": F, "OrderedDict": OrderedDict}
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(path), "exec"), namespace)
    names = {node.name for node in kept}
    return {name: value for name, value in namespace.items()
            if name in names and isinstance(value, type) and issubclass(value, nn.Module)}


def _made(factory, *shape):
    def build():
        torch.manual_seed(0)
        return factory(), (torch.randn(*shape),), {}
    return build


def _grown_twice():
    model = lesson_classes("08_capstone")["GrowingDigitNet"]()
    model.grow()
    model.grow()
    return model


def _dropout_stack():
    """A `Dropout` in eval returns its input object: it must still be drawn in series."""
    return nn.Sequential(nn.Linear(6, 8), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 3)).eval()


L06 = lambda name: lesson_classes("06_residual")[name]  # noqa: E731
L08 = lambda name: lesson_classes("08_capstone")[name]  # noqa: E731

LESSON_MODELS = {
    "lesson06_residual_block": _made(lambda: L06("ResidualBlock")(8, 8), 1, 8, 8, 8),
    "lesson06_projected_identity": _made(lambda: L06("ProjectedResidualBlock")(8, 8), 1, 8, 8, 8),
    "lesson06_projected_conv": _made(lambda: L06("ProjectedResidualBlock")(3, 8), 1, 3, 8, 8),
    "lesson06_fixed_resnet_like": _made(lambda: L06("FixedResNetLike")(3, 64), 1, 3, 8, 8),
    "lesson08_residual_identity": _made(lambda: L08("ResidualBlock")(16, 16), 2, 16, 8, 8),
    "lesson08_residual_conv": _made(lambda: L08("ResidualBlock")(16, 32), 2, 16, 4, 4),
    "lesson08_digit_net": _made(lambda: L08("DigitNet")(), 2, 1, 8, 8),
    "lesson08_growing_grown_twice": _made(_grown_twice, 2, 1, 8, 8),
    "dropout_in_eval_in_series": _made(_dropout_stack, 2, 6),
}
