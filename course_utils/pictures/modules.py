"""``show_modules``: the module tree with names, types and parameter counts.

Why walk ``_modules`` ourselves instead of ``named_modules()``: the latter silently drops
a module registered under two names (seed 004 puts ``conv1`` both at ``conv1`` and at
``seq.0``); a student must see both places, and see that they are the same module.
"""

from __future__ import annotations

from torch import nn

from .shapes import count, parameter_summary
from .table import Table


def layer_text(module: nn.Module) -> str:
    """A short description a person reads: `Linear(20 → 30)`, `Conv2d(3 → 64, 3×3)`."""
    kind = type(module).__name__
    if isinstance(module, nn.Linear):
        return f"{kind}({module.in_features} → {module.out_features})"
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = "×".join(str(k) for k in module.kernel_size)
        return f"{kind}({module.in_channels} → {module.out_channels}, {kernel})"
    if isinstance(module, nn.modules.batchnorm._NormBase):
        return f"{kind}({module.num_features})"
    if isinstance(module, nn.Embedding):
        return f"{kind}({module.num_embeddings} → {module.embedding_dim})"
    return kind


class ModuleTree(Table):
    """The table ``show_modules`` returns."""

    def __init__(self, model: nn.Module):
        self.model = model
        rows, indents = [], []
        seen: dict = {}

        def walk(module, name, prefix, last, depth):
            if depth == 0:
                label = type(module).__name__
            else:
                label = prefix + ("└─ " if last else "├─ ") + name
            total, trainable = parameter_summary(module)
            if id(module) in seen:
                rows.append([label, layer_text(module), "shared", f"same module as {seen[id(module)]}"])
                indents.append(0)
                return
            seen[id(module)] = name if depth else "(model)"
            rows.append([label, layer_text(module), count(total), trainable])
            indents.append(0)
            # _modules, not named_children(): the latter hides a module's second name
            children = [(n, m) for n, m in module._modules.items() if m is not None]
            child_prefix = "" if depth == 0 else prefix + ("   " if last else "│  ")
            for i, (child_name, child) in enumerate(children):
                qualified = f"{name}.{child_name}" if depth else child_name
                walk(child, qualified if depth else child_name, child_prefix,
                     i == len(children) - 1, depth + 1)

        walk(model, "", "", True, 0)
        # show the local name in the tree, the qualified one only for shared modules
        for row in rows[1:]:
            tree, _, qualified = row[0].rpartition(" ")
            row[0] = f"{tree} {qualified.rsplit('.', 1)[-1]}"
        total, _ = parameter_summary(model)
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        n_modules = len(seen)
        super().__init__(
            f"modules of {type(model).__name__}",
            ["module", "type", "params", "trainable"], rows, indents=indents,
            right_aligned={2},
            notes=[f"total: {count(total)} parameters ({count(trainable)} trainable, "
                   f"{count(total - trainable)} frozen) in {n_modules} "
                   f"module{'s' if n_modules != 1 else ''}"])


def show_modules(model: nn.Module) -> ModuleTree:
    """The module tree: each submodule's name (as registered), type and parameter count."""
    return ModuleTree(model)
