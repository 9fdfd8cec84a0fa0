"""A small table that shows as HTML in Jupyter and as aligned text in a terminal.

Why not pandas: the text must be identical on every machine (nbval compares it) and the
import must stay cheap. Rows may be indented (``indent``) to show nesting.
"""

from __future__ import annotations

import html


class Table:
    def __init__(self, title, columns, rows, notes=(), indents=None, marks=None,
                 right_aligned=()):
        self.title = title
        self.columns = list(columns)
        self.rows = [[str(cell) for cell in row] for row in rows]
        self.notes = list(notes)
        self.indents = list(indents) if indents is not None else [0] * len(self.rows)
        self.marks = list(marks) if marks is not None else [""] * len(self.rows)  # "error", "muted"
        self.right_aligned = set(right_aligned)

    def _cells(self, row_index, row):
        cells = list(row)
        cells[0] = "  " * self.indents[row_index] + cells[0]
        return cells

    def text(self) -> str:
        body = [self._cells(i, row) for i, row in enumerate(self.rows)]
        widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(self.columns)]

        def line(cells):
            parts = [c.rjust(w) if i in self.right_aligned else c.ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))]
            return "  ".join(parts).rstrip()

        out = [self.title] if self.title else []
        out.append(line(self.columns))
        out.append("  ".join("-" * w for w in widths))
        out += [line(r) for r in body]
        out += self.notes
        return "\n".join(out)

    def __str__(self):
        return self.text()

    def __repr__(self):
        return self.text()

    def _repr_html_(self):
        style = {"error": ' style="color:#b00020;font-weight:bold"',
                 "muted": ' style="color:#888"', "": ""}
        head = "".join(f"<th style=\"text-align:left\">{html.escape(c)}</th>" for c in self.columns)
        rows = []
        for i, row in enumerate(self.rows):
            cells = []
            for j, cell in enumerate(row):
                pad = f' style="padding-left:{1.2 * self.indents[i]:.1f}em"' if j == 0 and \
                    self.indents[i] else ""
                align = ' align="right"' if j in self.right_aligned else ""
                cells.append(f"<td{pad}{align}><code>{html.escape(cell)}</code></td>")
            rows.append(f"<tr{style[self.marks[i]]}>{''.join(cells)}</tr>")
        title = f"<b>{html.escape(self.title)}</b>" if self.title else ""
        notes = "".join(f"<div>{html.escape(n)}</div>" for n in self.notes)
        return (f"<div>{title}<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>{notes}</div>")
