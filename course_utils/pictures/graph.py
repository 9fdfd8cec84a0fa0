"""One graph model for every drawing: nodes, edges and frames as plain data, and its DOT text.

Why one model: the forward graph and the autograd graph are both boxes and arrows; keeping
them as plain data lets us write DOT for Graphviz, lay them out in pure Python when ``dot``
is missing, state a deterministic text summary, and test the structure without parsing SVG.
Node ids are numbers in creation order, never memory addresses, so DOT text is stable.
Rendering lives elsewhere (picture.py runs ``dot`` or fallback.py), so imports run one way:
picture -> fallback -> graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# fill colour per node kind (Graphviz colour names work in SVG too)
COLOURS = {
    "input": "#fff7c2", "output": "#d9f2b4", "module": "#dbe9f6", "operation": "#ffd8a8",
    "parameter": "#cfe8ff", "grad_fn": "#eeeeee", "merge": "#ffb870", "error": "#ffb3b3",
    "tensor": "#fff7c2", "note": "#ffffff",
}

@dataclass
class Node:
    id: str
    lines: list  # label lines; the first is the bold title
    kind: str
    cluster: str | None = None


@dataclass
class Graph:
    title: str
    nodes: list = field(default_factory=list)
    edges: list = field(default_factory=list)  # (source id, target id, label)
    clusters: dict = field(default_factory=dict)  # id -> (label, parent cluster id or None)

    def add_node(self, lines, kind, cluster=None) -> str:
        node = Node(f"n{len(self.nodes)}", [str(line) for line in lines], kind, cluster)
        self.nodes.append(node)
        return node.id

    def add_edge(self, source, target, label=""):
        if source != target and (source, target, label) not in self.edges:
            self.edges.append((source, target, label))

    def node(self, node_id) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def dot_source(self) -> str:
        def quote(text):
            return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

        def node_line(n, indent):
            label = "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in n.lines)
            extra = ', color="#b00020", penwidth=2' if n.kind == "error" else ""
            shape = "ellipse" if n.kind in ("operation", "merge") else "box"
            return (f'{indent}{n.id} [label="{label}", shape={shape}, '
                    f'fillcolor="{COLOURS[n.kind]}"{extra}]')

        lines = ["digraph G {", f"  label={quote(self.title)}; labelloc=t; fontsize=12;",
                 '  graph [rankdir=TB, nodesep=0.3, ranksep=0.35, fontname="Helvetica"];',
                 '  node [style="filled,rounded", fontname="Helvetica", fontsize=10, '
                 'margin="0.08,0.04", height=0.3];',
                 '  edge [fontname="Helvetica", fontsize=9, color="#555555"];']

        def emit(cluster, indent):
            for cid, (label, parent) in self.clusters.items():
                if parent == cluster:
                    lines.append(f"{indent}subgraph cluster_{cid} {{")
                    lines.append(f'{indent}  label={quote(label)}; style="rounded,dashed"; '
                                 f'color="#888888"; fontsize=10;')
                    emit(cid, indent + "  ")
                    lines.append(f"{indent}}}")
            lines.extend(node_line(n, indent) for n in self.nodes if n.cluster == cluster)

        emit(None, "  ")
        for source, target, label in self.edges:
            lines.append(f"  {source} -> {target}" + (f" [label={quote(label)}]" if label else ""))
        lines.append("}")
        return "\n".join(lines) + "\n"
