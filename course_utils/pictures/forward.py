"""``draw_graph``: the forward graph — module boxes with shapes, and the operations between them.

Built from our own trace (see tracing.py), not torchview: see docs/pictures.md for why.
``depth`` says how many levels of nesting are opened: at depth 1 only the model's direct
children are boxes; a module at the cut-off depth (or a leaf) is one box, and a module above it
is drawn as a dashed frame around its contents.
"""

from __future__ import annotations

from collections import Counter

from torch import nn

from .graph import Graph
from .modules import layer_text
from .picture import Picture
from .tracing import Call, Trace, describe, shape_text, trace_forward

MERGES = {"add", "cat", "concat", "concatenate", "stack"}  # where paths join: drawn orange


def _has_children(call: Call) -> bool:
    return bool(call.children)


def _collapsed(call: Call, depth: int) -> bool:
    return call.kind == "operation" or call.depth >= depth or not _has_children(call)


def representative(call: Call, depth: int) -> Call | None:
    """The drawn node standing for ``call``: its outermost collapsed ancestor, or itself.

    ``None`` for the model itself and for expanded modules (drawn as frames, not nodes).
    """
    if call.kind == "input":
        return call
    chain = []
    walker = call
    while walker is not None and walker.parent is not None:  # stop below the model
        chain.append(walker)
        walker = walker.parent
    for ancestor in reversed(chain):
        if _collapsed(ancestor, depth):
            return ancestor
    return None


def _node_lines(call: Call) -> list:
    if call.kind == "module":
        title = f"{call.label}: {layer_text(call.module)}"
    else:
        title = f"{call.name} {call.detail}".strip()
    if call.error is not None:
        return [title, ", ".join(call.inputs) + " → error"]
    ins = ", ".join(shape_text(t.shape) for t in call.input_tensors)
    return [title, f"{ins} → {', '.join(call.outputs)}"]


def build_forward_graph(trace: Trace, depth: int) -> tuple[Graph, dict]:
    model_name = type(trace.model).__name__
    graph = Graph(f"{model_name}: forward graph (depth {depth})")
    ids: dict = {}  # id(call) -> node id

    for call in trace.inputs:
        ids[id(call)] = graph.add_node([call.name, call.outputs[0]], "input")

    for call in trace.calls[1:]:  # calls[0] is the model itself
        rep = representative(call, depth)
        if rep is None:  # an expanded module: a frame
            parent_frame = _frame_of(call.parent)
            graph.clusters[f"c{call.index}"] = (f"{call.label}: {call.type_name}", parent_frame)
            continue
        if rep is not call:
            continue
        kind = "error" if call.error is not None else (
            "merge" if call.kind == "operation" and call.name in MERGES else call.kind)
        ids[id(call)] = graph.add_node(_node_lines(call), kind, _frame_of(call.parent))

    def source_for(tensor, consumer):
        for producer in reversed(trace.producers_of(tensor)):
            if not producer.ended_before(consumer):  # changed in place only later
                continue
            rep = representative(producer, depth) if producer.kind != "input" else producer
            if rep is not None and rep is not consumer and id(rep) in ids:
                return ids[id(rep)]
        return None

    parameter_nodes: dict = {}
    for call in trace.calls[1:]:
        if ids.get(id(call)) is None:
            continue
        for tensor in call.input_tensors:
            source = source_for(tensor, call)
            name = trace.parameter_names.get(id(tensor))
            if source is None and name is not None:
                if id(tensor) not in parameter_nodes:
                    parameter_nodes[id(tensor)] = graph.add_node(
                        [name, describe(tensor)], "parameter", _frame_of(call.parent))
                source = parameter_nodes[id(tensor)]
            if source is not None:
                graph.add_edge(source, ids[id(call)], shape_text(tensor.shape))

    if trace.error is None and trace.root is not None:
        for tensor in trace.root.output_tensors:
            out = graph.add_node(["output", shape_text(tensor.shape)], "output")
            source = source_for(tensor, None)
            if source is not None:
                graph.add_edge(source, out)
    return graph, ids


def _frame_of(call: Call | None) -> str | None:
    """Cluster id of the expanded module that holds a node (None at the top level)."""
    if call is None or call.parent is None:
        return None
    return f"c{call.index}"


def forward_summary(graph: Graph, trace: Trace, depth: int) -> str:
    model_name = type(trace.model).__name__
    kinds = Counter()
    for node in graph.nodes:
        if node.kind in ("module", "error"):
            kinds[node.lines[0].split(": ", 1)[-1].split("(")[0]] += 1
        elif node.kind in ("operation", "merge"):
            kinds[node.lines[0].split(" ")[0]] += 1
    parts = ", ".join(f"{name} ×{n}" for name, n in sorted(kinds.items()))
    ins = ", ".join(n.lines[1] for n in graph.nodes if n.kind == "input")
    outs = ", ".join(n.lines[1] for n in graph.nodes if n.kind == "output")
    text = (f"forward graph of {model_name} (depth {depth}): {len(graph.nodes)} nodes, "
            f"{len(graph.edges)} edges — {parts}; input {ins or 'none'}")
    text += f" → output {outs}" if outs else ""
    if trace.error is not None:
        failed = trace.failed_call
        where = failed.label if failed is not None and failed.kind == "module" else \
            f"operation {failed.name}" if failed is not None else "the model"
        text += f"; the forward pass failed in {where or '(model)'} (red)"
    return text


def draw_graph(model: nn.Module, *inputs, depth: int = 3, **kwargs) -> Picture:
    """Draw the forward graph of ``model(*inputs, **kwargs)``.

    Modules nested deeper than ``depth`` are folded into their parent's box. A forward pass that
    raises is drawn up to the failing call, which is red; nothing is raised.
    """
    trace = trace_forward(model, inputs, kwargs)
    graph, _ = build_forward_graph(trace, depth)
    picture = Picture(graph, forward_summary(graph, trace, depth))
    picture.trace = trace
    return picture
