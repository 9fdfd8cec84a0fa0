"""``draw_autograd``: the graph autograd records for the backward pass.

It walks ``grad_fn.next_functions`` exactly as torchviz's ``make_dot`` does and uses its
colours (parameters blue, output green), with two changes a lesson needs: nodes are numbered
in walking order instead of by memory address (stable DOT text and summary on every machine),
and the joins of paths — ``AddBackward0``, ``CatBackward0`` — are orange so they stand out.
``picture.torchviz()`` gives torchviz's own ``Digraph`` for comparison.
"""

from __future__ import annotations

from collections import Counter, deque

import torch
from torch import nn

from .graph import Graph
from .picture import Picture
from .tracing import describe, first_error_line, flatten_tensors, shape_text

JOINS = ("AddBackward", "CatBackward", "StackBackward", "SumBackward")


def _names(params) -> dict:
    if params is None:
        return {}
    if isinstance(params, nn.Module):
        params = dict(params.named_parameters())
    return {id(p): name for name, p in dict(params).items()}


def build_autograd_graph(outputs: list, names: dict, title: str) -> Graph:
    graph = Graph(title)
    ids: dict = {}
    queue: deque = deque()

    def node_for(fn) -> str:
        if id(fn) in ids:
            return ids[id(fn)]
        kind_name = type(fn).__name__
        if kind_name == "AccumulateGrad":
            variable = fn.variable
            name = names.get(id(variable), "leaf tensor")
            node = graph.add_node([name, describe(variable)], "parameter")
        else:
            kind = "merge" if kind_name.startswith(JOINS[:3]) else "grad_fn"
            node = graph.add_node([kind_name], kind)
        ids[id(fn)] = node
        queue.append(fn)
        return node

    for position, tensor in enumerate(outputs):
        label = "output" if len(outputs) == 1 else f"output {position + 1}"
        out = graph.add_node([label, shape_text(tensor.shape)], "output")
        if tensor.grad_fn is not None:
            graph.add_edge(node_for(tensor.grad_fn), out)
        elif tensor.requires_grad:
            leaf = graph.add_node([names.get(id(tensor), "leaf tensor"), describe(tensor)],
                                  "parameter")
            graph.add_edge(leaf, out)
    while queue:
        fn = queue.popleft()
        for next_fn, _ in getattr(fn, "next_functions", ()):
            if next_fn is not None:
                graph.add_edge(node_for(next_fn), ids[id(fn)])
    return graph


def autograd_summary(graph: Graph, subject: str, names: dict) -> str:
    kinds = Counter(n.lines[0] for n in graph.nodes if n.kind in ("grad_fn", "merge"))
    parts = ", ".join(f"{name} ×{count}" for name, count in sorted(kinds.items()))
    params = [n.lines[0] for n in graph.nodes if n.kind == "parameter"]
    order = {name: i for i, name in enumerate(names.values())}
    params.sort(key=lambda name: order.get(name, len(order)))
    text = f"autograd graph of {subject}: {len(graph.nodes)} nodes"
    text += f" — {parts}" if parts else " — no backward functions (nothing requires grad)"
    return text + (f"; parameters: {', '.join(params)}" if params else "; parameters: none")


class AutogradPicture(Picture):
    def torchviz(self):
        """torchviz's own drawing of the same outputs (needs torchviz; names by address)."""
        from torchviz import make_dot

        params = {name: p for p_id, name in self._names.items()
                  for p in self._params if id(p) == p_id}
        return make_dot(tuple(self._outputs) if len(self._outputs) > 1 else self._outputs[0],
                        params=params)


def draw_autograd(output_or_model, *inputs, params=None, **kwargs) -> AutogradPicture:
    """Draw the autograd graph of an output tensor, or of ``model(*inputs, **kwargs)``.

    Parameters are labelled with their names when a model is given (or ``params=`` a model or
    a dict of named parameters). A forward pass that raises gives a picture that says so.
    """
    if isinstance(output_or_model, nn.Module):
        model = output_or_model
        names = _names(model if params is None else params)
        subject = type(model).__name__
        try:
            with torch.enable_grad():
                result = model(*inputs, **kwargs)
        except Exception as error:  # a lesson gets a picture, not a traceback
            graph = Graph(f"{subject}: autograd graph")
            graph.add_node(["the forward pass failed", first_error_line(error)], "error")
            picture = AutogradPicture(graph, f"autograd graph of {subject}: not drawn — the "
                                             f"forward pass failed: {first_error_line(error)}")
            picture._outputs, picture._names, picture._params = [], names, []
            return picture
    else:
        result = output_or_model
        names = _names(params)
        subject = "the output"
    outputs = flatten_tensors(result)
    graph = build_autograd_graph(outputs, names, f"{subject}: autograd graph")
    picture = AutogradPicture(graph, autograd_summary(graph, subject, names))
    picture._outputs, picture._names = outputs, names
    picture._params = list(params.parameters()) if isinstance(params, nn.Module) else (
        list(output_or_model.parameters()) if isinstance(output_or_model, nn.Module) else
        list(dict(params or {}).values()))
    return picture
