"""A pure-Python layered layout that draws a ``Graph`` as SVG when Graphviz is missing.

Why: without the ``dot`` program, graphviz-based tools raise and the lesson shows a
traceback. This layout is simpler than Graphviz's (straight arrows, frames drawn around their
members) but every box, label and arrow is there. No dependency beyond the standard library.
"""

from __future__ import annotations

import html

from .graph import COLOURS, Graph

CHAR_WIDTH, LINE_HEIGHT, PAD, GAP_X, GAP_Y = 6.6, 14, 8, 24, 46


def _layers(graph: Graph) -> dict:
    """Longest-path layering: every node sits one layer below its lowest predecessor."""
    preds = {n.id: [] for n in graph.nodes}
    for source, target, _ in graph.edges:
        preds[target].append(source)
    layer: dict = {}

    def depth(node_id, seen=()):
        if node_id not in layer:
            if node_id in seen:  # a cycle cannot happen in these graphs; stay safe anyway
                return 0
            layer[node_id] = 1 + max((depth(p, seen + (node_id,)) for p in preds[node_id]),
                                     default=-1)
        return layer[node_id]

    for node in graph.nodes:
        depth(node.id)
    return layer


def _order(graph: Graph, layer: dict) -> list:
    """Nodes per layer, ordered by the mean position of their predecessors (fewer crossings)."""
    rows: dict = {}
    for node in graph.nodes:
        rows.setdefault(layer[node.id], []).append(node.id)
    preds: dict = {}
    for source, target, _ in graph.edges:
        preds.setdefault(target, []).append(source)
    position: dict = {}
    ordered = []
    for level in sorted(rows):
        row = rows[level]
        first_seen = {n: i for i, n in enumerate(row)}
        row.sort(key=lambda n: (sum(position.get(p, 0) for p in preds.get(n, [])) /
                                max(1, len(preds.get(n, []))), first_seen[n]))
        for i, node_id in enumerate(row):
            position[node_id] = i - (len(row) - 1) / 2
        ordered.append(row)
    return ordered


def render_svg(graph: Graph) -> str:
    nodes = {n.id: n for n in graph.nodes}
    size = {n.id: (max(len(line) for line in n.lines) * CHAR_WIDTH + 2 * PAD,
                   len(n.lines) * LINE_HEIGHT + PAD) for n in graph.nodes}
    rows = _order(graph, _layers(graph))
    row_widths = [sum(size[n][0] for n in row) + GAP_X * (len(row) - 1) for row in rows]
    width = max(row_widths + [len(graph.title) * CHAR_WIDTH]) + 2 * GAP_X
    place, y = {}, 34
    for row, row_width in zip(rows, row_widths):
        x = (width - row_width) / 2
        height = max(size[n][1] for n in row)
        for node_id in row:
            w, h = size[node_id]
            place[node_id] = (x, y + (height - h) / 2, w, h)
            x += w + GAP_X
        y += height + GAP_Y
    height_total = y - GAP_Y + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
           f'height="{height_total:.0f}" viewBox="0 0 {width:.0f} {height_total:.0f}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="11">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
           '</defs>',
           f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="13">'
           f'{html.escape(graph.title)}</text>']
    for cluster_id, (label, _) in graph.clusters.items():
        members = [place[n.id] for n in graph.nodes if n.cluster == cluster_id]
        inner = [c for c, (_, parent) in graph.clusters.items() if parent == cluster_id]
        members += [place[n.id] for n in graph.nodes if n.cluster in inner]
        if not members:
            continue
        left = min(m[0] for m in members) - 8
        top = min(m[1] for m in members) - 18
        right = max(m[0] + m[2] for m in members) + 8
        bottom = max(m[1] + m[3] for m in members) + 6
        out.append(f'<g class="cluster"><rect x="{left:.0f}" y="{top:.0f}" '
                   f'width="{right - left:.0f}" height="{bottom - top:.0f}" rx="6" fill="none" '
                   f'stroke="#888" stroke-dasharray="4,3"/><text x="{left + 6:.0f}" '
                   f'y="{top + 12:.0f}" fill="#555">{html.escape(label)}</text></g>')
    for source, target, label in graph.edges:
        sx, sy, sw, sh = place[source]
        tx, ty, tw, _ = place[target]
        x1, y1, x2, y2 = sx + sw / 2, sy + sh, tx + tw / 2, ty
        out.append(f'<g class="edge"><line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" '
                   f'y2="{y2:.0f}" stroke="#555" marker-end="url(#arrow)"/>'
                   + (f'<text x="{(x1 + x2) / 2 + 4:.0f}" y="{(y1 + y2) / 2 + 4:.0f}" '
                      f'font-size="9" fill="#555">{html.escape(label)}</text>' if label else "")
                   + "</g>")
    for node_id, (x, y, w, h) in place.items():
        node = nodes[node_id]
        stroke = ' stroke="#b00020" stroke-width="2"' if node.kind == "error" else \
            ' stroke="#444"'
        radius = h / 2 if node.kind in ("operation", "merge") else 5
        bold = ' font-weight="bold"'
        texts = "".join(
            f'<text x="{x + w / 2:.0f}" y="{y + PAD / 2 + LINE_HEIGHT * (i + 0.75):.0f}" '
            f'text-anchor="middle"{bold if i == 0 else ""}>'
            f'{html.escape(line)}</text>' for i, line in enumerate(node.lines))
        out.append(f'<g class="node" id="{node_id}"><rect x="{x:.0f}" y="{y:.0f}" '
                   f'width="{w:.0f}" height="{h:.0f}" rx="{radius:.0f}" '
                   f'fill="{COLOURS[node.kind]}"{stroke}/>{texts}</g>')
    out.append("</svg>")
    return "\n".join(out)
