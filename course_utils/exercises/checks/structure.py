"""Structural checks: which layers a model registers, which ops built an output, what runs.

Re-exported by ``course_utils.exercises.checks`` (import them from there): values, the answer,
weights, structure and PyTorch's errors each have their submodule, so each reads in one sitting.
"""

from __future__ import annotations

import torch
from torch import nn

from course_utils.exercises.engine import Incorrect
from course_utils.probes import server
from course_utils.probes.client import Answer, ModuleEntry


def _type_names(types) -> set[str]:
    return {t.__name__ for t in types}


def modules_of_type(model: nn.Module, *types: type) -> list[tuple[str, nn.Module]]:
    """Registered submodules (not the model itself) of the given types, as (name, module).

    For a probed answer the modules are ``ModuleEntry`` records, matched by type name (or a
    subclass's name, as ``isinstance`` would, for the library types of ``types``)."""
    if isinstance(model, Answer):
        names = _type_names(types)
        seen, found = set(), []
        for entry in model.tree():
            if entry.name and entry.identity not in seen and entry.type in names:
                seen.add(entry.identity)
                found.append((entry.name, entry))
        return found
    return [(name, m) for name, m in model.named_modules() if name and isinstance(m, types)]


def expect_submodules(model: nn.Module, module_type: type, count: int | None = None,
                      at_least: int | None = None) -> list[tuple[str, nn.Module]]:
    found = modules_of_type(model, module_type)
    label = f"`nn.{module_type.__name__}`" if module_type.__module__.startswith("torch.nn") \
        else f"`{module_type.__name__}`"
    names = ", ".join(name for name, _ in found) or "none"
    if count is not None and len(found) != count:
        raise Incorrect(f"Expected {count} registered {label} layer{'s' if count != 1 else ''}; "
                        f"found {len(found)} ({names}).")
    if at_least is not None and len(found) < at_least:
        raise Incorrect(f"Expected at least {at_least} registered {label} layers; found {len(found)} ({names}).")
    return found


def autograd_ops(output: torch.Tensor) -> set[str]:
    """Names of the autograd nodes that produced ``output``, e.g. {'AddBackward0', 'CatBackward0'}."""
    if hasattr(output, "ops") and hasattr(output, "connected"):   # a probed Run
        return set(output.ops)
    return server.autograd_ops(output)


def expect_autograd_op(output: torch.Tensor, op: str, message: str) -> None:
    """Require an op (e.g. 'AddBackward0' or 'CatBackward0') in the graph; ``message`` says why.

    For a probed answer ``output`` is the ``Run`` of a call made with ``ops=True``."""
    if hasattr(output, "ops") and hasattr(output, "connected"):
        if not output.connected:
            raise Incorrect("The output is not connected to any parameter (no autograd graph): "
                            "was it computed under `torch.no_grad()` or detached?")
        if op not in output.ops:
            raise Incorrect(message)
        return
    if not isinstance(output, torch.Tensor) or output.grad_fn is None:
        raise Incorrect("The output is not connected to any parameter (no autograd graph): "
                        "was it computed under `torch.no_grad()` or detached?")
    if op not in autograd_ops(output):
        raise Incorrect(message)


def optimizer_missing(optimizer: torch.optim.Optimizer, model: nn.Module) -> list[str]:
    """Names of ``model``'s parameters that no group of ``optimizer`` holds (both probed, or both local)."""
    if isinstance(model, Answer):
        from course_utils.probes.client import ProbeFault

        reply = model.session.request("optimizer_missing", optimizer=optimizer.handle, model=model.handle)
        if type(reply) is not list or not all(type(name) is str for name in reply):
            raise ProbeFault("the answer's side sent a malformed list of names")
        return reply
    known = {id(p) for group in optimizer.param_groups for p in group["params"]}
    return [name for name, p in model.named_parameters() if id(p) not in known]


def expect_optimizer_covers(optimizer: torch.optim.Optimizer, model: nn.Module) -> None:
    """Every parameter of ``model`` must be in one of the optimizer's parameter groups."""
    missing = optimizer_missing(optimizer, model)
    if missing:
        raise Incorrect(not_in_optimizer(missing))


def not_in_optimizer(missing: list[str]) -> str:
    """The course's words for parameters no group of the optimizer holds (``optimizer_missing``'s names)."""
    return (f"The optimizer does not know {len(missing)} parameter{'s' if len(missing) > 1 else ''} "
            f"of the model ({', '.join(missing)}): they will never be updated. "
            f"Use `optimizer.add_param_group({{'params': ...}})` after adding a layer.")


def calls_per_module(model: nn.Module, *inputs, output: list | None = None) -> dict[str, int]:
    """How often each layer with parameters runs in one forward pass (forward hooks count the calls).

    Layers called as ``layer.forward(x)`` skip their hooks and are not counted. ``output``, if
    given, receives the model's output (so one run serves both counting and comparing).
    """
    if isinstance(model, Answer):
        run = model.run(*inputs, no_grad=True, calls=True)
        if output is not None:
            output.append(run.value)
        return {str(k): v for k, v in run.calls.items() if type(v) is int}
    counts: dict[str, int] = {}
    hooks = [module.register_forward_hook(lambda m, i, o, name=name: counts.__setitem__(name, counts.get(name, 0) + 1))
             for name, module in model.named_modules() if list(module.parameters(recurse=False))]
    try:
        with torch.no_grad():
            result = model(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    if output is not None:
        output.append(result)
    return counts


def weight_shape(entry: ModuleEntry, parameter: str = "weight") -> tuple | None:
    """The shape of a probed tree entry's own ``weight`` (or other ``parameter``), or None: how a check
    finds a layer by what it is (``Linear(4, 8)`` has weight shape (8, 4)), whatever the student named it."""
    return next((tuple(shape) for name, shape, _ in entry.parameters if name == parameter), None)


def children_of(entries: list[ModuleEntry], name: str) -> list[ModuleEntry]:
    """The registered children of the module called ``name`` in a probed tree (``""``: the model), in
    order, as ``list(module)`` gives them: a check counts a container's layers without holding it."""
    prefix = f"{name}." if name else ""
    return [e for e in entries if e.name.startswith(prefix) and e.name != name and "." not in e.name[len(prefix):]]
