"""One graph model for every drawing, rendered by Graphviz ``dot`` or by our own fallback.

Why one model: the forward graph and the autograd graph are both boxes and arrows; keeping
them as plain data lets us write DOT for Graphviz, lay them out in pure Python when ``dot``
is missing, state a deterministic text summary, and test the structure without parsing SVG.
Node ids are numbers in creation order, never memory addresses, so DOT text is stable.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field

# fill colour per node kind (Graphviz colour names work in SVG too)
COLOURS = {
    "input": "#fff7c2", "output": "#d9f2b4", "module": "#dbe9f6", "operation": "#ffd8a8",
    "parameter": "#cfe8ff", "grad_fn": "#eeeeee", "merge": "#ffb870", "error": "#ffb3b3",
    "tensor": "#fff7c2", "note": "#ffffff",
}

INSTALL_MESSAGE = (
    "Graphviz's `dot` program was not found, so pictures use the simple built-in layout. "
    "For the better layout install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
    "`conda install graphviz` (conda) or `brew install graphviz` (macOS), then restart "
    "the kernel."
)
_message_shown = False


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


def dot_program() -> str | None:
    """Path of Graphviz's ``dot``, looked up each time (a lesson may install it meanwhile)."""
    return shutil.which("dot")


def say_install_once():
    """Print the Graphviz hint once per session, to stdout (nbval compares stderr)."""
    global _message_shown
    if not _message_shown:
        _message_shown = True
        print(INSTALL_MESSAGE)


class Picture:
    """What ``draw_graph``/``draw_autograd`` return: SVG in Jupyter, a summary as text.

    ``.source`` is the DOT text, ``.svg`` the rendered SVG, ``.save(path)`` writes it,
    ``.graph`` holds nodes and edges for code and tests, ``.renderer`` says which layout drew it.
    """

    def __init__(self, graph: Graph, summary: str):
        self.graph = graph
        self.summary = summary
        self._svg = None
        self.renderer = "dot" if dot_program() else "fallback"
        if self.renderer == "fallback":
            say_install_once()

    @property
    def source(self) -> str:
        return self.graph.dot_source()

    @property
    def svg(self) -> str:
        if self._svg is None:
            self._svg = self._render()
        return self._svg

    def _render(self) -> str:
        dot = dot_program() if self.renderer == "dot" else None
        if dot:
            try:
                done = subprocess.run([dot, "-Tsvg"], input=self.source.encode(),
                                      capture_output=True, timeout=30, check=True)
                svg = done.stdout.decode("utf-8")
                return svg[svg.index("<svg"):]  # drop the XML header and doctype
            except (OSError, subprocess.SubprocessError, ValueError):
                self.renderer = "fallback"
                say_install_once()
        from .fallback import render_svg

        try:
            return render_svg(self.graph)
        except Exception as problem:  # a picture that cannot be drawn must not break a lesson
            return (f'<svg xmlns="http://www.w3.org/2000/svg" width="420" height="30">'
                    f'<text x="4" y="18">picture could not be drawn '
                    f'({type(problem).__name__}); its summary: see the text</text></svg>')

    def _repr_svg_(self):
        return self.svg

    def save(self, path) -> str:
        """Write the SVG to ``path`` (returns the path)."""
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(self.svg)
        return str(path)

    def __repr__(self):
        return self.summary

    __str__ = __repr__
