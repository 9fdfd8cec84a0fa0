"""Parameters and weights: counting them, finding the ones PyTorch cannot see, and copying the
reference's weights into an answer (the one way the course does it).
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from course_utils.exercises.checks.values import _capital, _shape, plain
from course_utils.exercises.engine import Incorrect
from course_utils.probes.client import Answer

_Tensor = torch.Tensor
_MODULE_INTERNALS = frozenset(vars(nn.Module()))  # _modules, _parameters, hooks...


def parameter_count(model: nn.Module) -> int:
    if isinstance(model, Answer):
        return sum(p.value.numel() for p in unique(model.parameters()) if p.value is not None)
    return sum(p.numel() for p in model.parameters())


def unique(items) -> list:
    """Entries of a probed tree or parameter list, each object once (as PyTorch iterates)."""
    seen, found = set(), []
    for item in items:
        if item.identity not in seen:
            seen.add(item.identity)
            found.append(item)
    return found


def parameter_breakdown(model: nn.Module) -> str:
    """'fc1 (Linear): 220, fc2 (Linear): 105' — which registered modules hold the parameters."""
    if isinstance(model, Answer):
        parts = [f"{e.name or 'the model itself'} ({e.type}): {e.parameter_count():,}"
                 for e in unique(model.tree()) if e.parameter_count()]
        return ", ".join(parts) if parts else "none"
    parts = []
    for name, module in model.named_modules():
        own = sum(p.numel() for p in module.parameters(recurse=False))
        if own:
            parts.append(f"{name or 'the model itself'} ({type(module).__name__}): {own:,}")
    return ", ".join(parts) if parts else "none"


def unregistered_modules(model: nn.Module) -> list[str]:
    """Attributes that hide layers from PyTorch: plain lists, tuples or dicts of modules.

    A plain list that only *aliases* registered layers (``self.steps = [self.fc, self.fc]``)
    is harmless, PyTorch already sees those layers, so it is not reported.
    """
    if isinstance(model, Answer):
        return [f"{e.name}.{attr}" if e.name else attr for e in unique(model.tree()) for attr in e.hidden]
    registered = {id(m) for m in model.modules()}
    hidden = []
    for name, module in model.named_modules():
        for attr, value in vars(module).items():
            if attr in _MODULE_INTERNALS or isinstance(value, nn.Module):
                continue
            items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
            if any(isinstance(item, nn.Module) and id(item) not in registered for item in items):
                hidden.append(f"{name}.{attr}" if name else attr)
    return hidden


def unregistered_tensors(model: nn.Module) -> list[str]:
    """Plain tensor attributes (not ``nn.Parameter``, not buffers): values no optimizer will train."""
    if isinstance(model, Answer):
        return [f"{e.name}.{attr}" if e.name else attr for e in unique(model.tree()) for attr in e.loose_tensors]
    return [f"{name}.{attr}" if name else attr for name, module in model.named_modules()
            for attr, value in vars(module).items()
            if attr not in _MODULE_INTERNALS and isinstance(value, torch.Tensor)]


def expect_registered(model: nn.Module) -> None:
    """Layers kept in a plain list or dict are invisible to PyTorch: say so before counting."""
    hidden = unregistered_modules(model)
    if hidden:
        names = ", ".join(f"`self.{n}`" for n in hidden)
        raise Incorrect(f"Layers stored in a plain Python list or dict ({names}) are not registered, so PyTorch "
                        f"does not see their parameters: use `nn.ModuleList` / `nn.ModuleDict`, or assign each "
                        f"layer to its own attribute.")


def expect_parameter_count(model: nn.Module, expected: int) -> None:
    """Total registered parameters; on mismatch say where the student's parameters are."""
    expect_registered(model)
    total = parameter_count(model)
    if total != expected:
        raise Incorrect(f"Your model has {total:,} registered parameters; expected {expected:,}. "
                        f"Where yours are: {parameter_breakdown(model)}.")


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """Copy every parameter of ``source`` into the free parameter of ``target`` with the same shape.

    The one way the course copies weights. Parameters pair up by shape, in registration order
    among equal shapes, so a student may name or order layers differently; a scalar stored as
    shape () or (1,) matches either way. Buffers (BatchNorm statistics) follow where a buffer
    of that shape exists. Raises ``Incorrect`` naming the first shape ``target`` lacks.
    """
    if isinstance(target, Answer):
        return _copy_weights_probed(source, target)
    with torch.no_grad():
        free = list(target.parameters())
        for param in source.parameters():
            match = _take(free, param)
            if match is None:
                raise Incorrect(f"No parameter of shape {_shape(param.shape)} in your module, so it cannot hold "
                                f"the reference weights. Where yours are: {parameter_breakdown(target)}.")
            match.copy_(param.reshape(match.shape))
        free = list(target.buffers())
        for buffer in source.buffers():
            match = _take(free, buffer)
            if match is not None:
                match.copy_(buffer.reshape(match.shape))


def _copy_weights_probed(source: nn.Module, target: Answer) -> None:
    free = [_Slot(p.name, p.value) for p in unique(target.parameters())]
    values = {}
    for param in source.parameters():
        match = _take(free, param)
        if match is None:
            raise Incorrect(f"No parameter of shape {_shape(param.shape)} in your module, so it cannot hold "
                            f"the reference weights. Where yours are: {parameter_breakdown(target)}.")
        values[match.name] = param.detach()
    free = [_Slot(name, value) for name, value in target.buffers().items()]
    for buffer in source.buffers():
        match = _take(free, buffer)
        if match is not None:
            values[match.name] = buffer.detach()
    target.assign(values)


class _Slot:
    """A tensor of the answer's side, by name and shape, to pair with a reference tensor."""

    def __init__(self, name, value):
        self.name, self.shape = name, value.shape
        self._numel = value.numel()

    def numel(self):
        return self._numel


def _take(free: list, tensor):
    """Remove from ``free`` and return the first tensor of ``tensor``'s shape (or a matching scalar)."""
    match = next((p for p in free if p.shape == tensor.shape), None)
    if match is None:
        match = next((p for p in free if p.numel() == tensor.numel() == 1), None)
    if match is not None:
        free[:] = [p for p in free if p is not match]
    return match


copy_weights_by_shape = copy_weights  # the name lessons 04-07 use


def expect_connected_to_graph(output, what: str = "your output") -> None:
    """An output cut from autograd (``.detach()``, ``torch.no_grad()``) cannot be trained through."""
    if hasattr(output, "connected") and hasattr(output, "changed"):   # a probed Run
        if not output.connected:
            raise Incorrect(f"{_capital(what)} is cut off from autograd (no `grad_fn`): no gradient could reach "
                            "the layers. Don't `.detach()` it or compute it under `torch.no_grad()`.")
        return
    output = plain(output)
    if type(output) is _Tensor and output.grad_fn is None and not output.requires_grad:
        raise Incorrect(f"{_capital(what)} is cut off from autograd (no `grad_fn`): no gradient could reach "
                        "the layers. Don't `.detach()` it or compute it under `torch.no_grad()`.")


def copy_weights_until(source: nn.Module, target: nn.Module, agrees, limit: int = 24) -> bool:
    """Copy ``source``'s layers into ``target``, trying each pairing of same-shaped layers.

    Why: two layers with identical weight shapes (conv1 and conv2 of a block with equal
    channels, fc1 and fc2 of a square MLP) cannot be told apart by shape, and students
    register them in either order. A layer moves as a whole (weight with its bias), and the
    answer is accepted when ``agrees()`` holds for some pairing. Returns False when none
    does, leaving the first pairing in place for later "which mistake is it?" tests.
    """
    if isinstance(target, Answer):
        return _copy_weights_until_probed(source, target, agrees, limit)
    return _first_agreeing_pairing(source, target, _layers_with_parameters(target),
                                   lambda sources, order: _copy_layers(sources, order), agrees, limit)


def _first_agreeing_pairing(source, target, dst, copy, agrees, limit: int) -> bool:
    """Try pairings of ``source``'s layers with the layers ``dst`` of ``target`` (same-shaped
    layers in every order, up to ``limit``), ``copy(sources, order)`` each, until ``agrees()``."""
    src = _layers_with_parameters(source)
    if sorted(map(_layer_signature, src)) != sorted(map(_layer_signature, dst)):
        copy_weights(source, target)
        return bool(agrees())
    groups: dict[tuple, list] = {}
    for layer in dst:
        groups.setdefault(_layer_signature(layer), []).append(layer)
    sources = [[s for s in src if _layer_signature(s) == signature] for signature in groups]
    orders = itertools.islice(itertools.product(*(itertools.permutations(g) for g in groups.values())), limit)
    first = None
    for order in orders:
        first = first or order
        copy(sources, order)
        if agrees():
            return True
    copy(sources, first)
    return False


def _copy_weights_until_probed(source: nn.Module, target: Answer, agrees, limit: int) -> bool:
    values = {p.name: p.value for p in unique(target.parameters())}
    dst = [[_Slot(f"{e.name}.{n}" if e.name else n, values[f"{e.name}.{n}" if e.name else n])
            for n, _, _ in e.parameters if (f"{e.name}.{n}" if e.name else n) in values]
           for e in unique(target.tree()) if e.parameters]
    return _first_agreeing_pairing(source, target, [layer for layer in dst if layer],
                                   lambda sources, order: target.assign(_pairing(sources, order)),
                                   agrees, limit)


def _pairing(sources, order) -> dict:
    return {d.name: s.detach() for group_src, group_dst in zip(sources, order)
            for s_layer, d_layer in zip(group_src, group_dst) for s, d in zip(s_layer, d_layer)}


def _layers_with_parameters(model: nn.Module) -> list[list[nn.Parameter]]:
    return [list(m.parameters(recurse=False)) for m in model.modules() if list(m.parameters(recurse=False))]


def _layer_signature(params) -> tuple:
    return tuple("scalar" if p.numel() == 1 else str(tuple(p.shape)) for p in params)


def _copy_layers(sources, order) -> None:
    with torch.no_grad():
        for group_src, group_dst in zip(sources, order):
            for s_layer, d_layer in zip(group_src, group_dst):
                for s, d in zip(s_layer, d_layer):
                    d.copy_(s.reshape(d.shape))


class Computed(nn.Module):
    """A check's reference: its layers (``parts``) and what it computes with them (``compute(parts,
    x)``) kept apart, so no class of the course can be handed in as an answer, and no solution's
    class is written out in a module a student can read."""

    def __init__(self, parts: nn.ModuleDict, compute, **settings):
        super().__init__()
        self.parts, self.compute, self.settings = parts, compute, settings

    def forward(self, x):
        return self.compute(self.parts, x, **self.settings)
