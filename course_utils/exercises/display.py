"""How exercise feedback looks: one small panel, as HTML in Jupyter and as text elsewhere.

Why a module of its own: outcomes, hints and solutions share one look, and everything shown
here is stored in notebooks that ``pytest --nbval`` compares, so the rendering must be
deterministic (no ids, no addresses, no timings) and must not depend on where it runs.
"""

from __future__ import annotations

import html
import re
import sys
from dataclasses import dataclass, field

# kind -> (symbol, colour of the left border)
STYLES = {
    "correct": ("✓", "#2e7d32"),
    "incorrect": ("✗", "#c62828"),
    "not_attempted": ("○", "#757575"),
    "error": ("⚠", "#e65100"),
    "hint": ("?", "#1565c0"),
    "solution": ("★", "#6a1b9a"),
}

_INLINE_CODE = re.compile(r"`([^`\n]+)`")


@dataclass
class Panel:
    """What one piece of feedback says: a heading, short paragraphs, optional code."""

    kind: str
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    code: str = ""
    code_caption: str = ""

    def text(self) -> str:
        symbol, _ = STYLES[self.kind]
        lines = [f"{symbol} {self.heading}", *self.paragraphs]
        if self.code_caption:
            lines.append(self.code_caption)
        if self.code:
            lines.extend("    " + line if line else "" for line in self.code.splitlines())
        return "\n".join(lines)

    def html(self) -> str:
        symbol, colour = STYLES[self.kind]
        parts = [f'<div class="course-feedback course-{self.kind}" style="border-left: 4px solid {colour}; '
                 f'padding: 0.3em 0.8em; margin: 0.3em 0">',
                 f'<div style="font-weight: bold; color: {colour}">{symbol} {_inline(self.heading)}</div>']
        parts += [f"<div>{_inline(p)}</div>" for p in self.paragraphs]
        if self.code_caption:
            parts.append(f"<div>{_inline(self.code_caption)}</div>")
        if self.code:
            parts.append(highlight(self.code))
        parts.append("</div>")
        return "\n".join(parts)


def _inline(text: str) -> str:
    """Escape text for HTML and turn `backticks` into <code>."""
    return _INLINE_CODE.sub(r"<code>\1</code>", html.escape(text))


def highlight(code: str) -> str:
    """Python source as self-contained HTML (inline styles: no stylesheet needed, no class ids)."""
    try:
        from pygments import highlight as pyg_highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pygments comes with jupyterlab; plain <pre> is still readable
        return f'<pre style="margin: 0.3em 0">{html.escape(code)}</pre>'
    formatter = HtmlFormatter(noclasses=True, nowrap=False, style="default")
    return pyg_highlight(code, PythonLexer(), formatter)


def _shell():
    """The running IPython shell, or None (plain Python, pytest). Never imports IPython."""
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


class Rich:
    """Mixin: an object shown as a Panel, once per cell even if it is also the cell's value.

    ``check()``, ``hint()`` and ``solution()`` display their panel *and* return the object
    (tests and the grader read it). When the call is the last line of a cell, Jupyter would
    show the returned object a second time; the panel remembers the cell it was shown in and
    stays silent the second time. Shown again in a later cell, it displays normally.
    """

    _shown_in: object = None

    def panel(self) -> Panel:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def __str__(self) -> str:
        return self.panel().text()

    def _repr_html_(self) -> str:
        return self.panel().html()

    def _ipython_display_(self) -> None:
        shell = _shell()
        cell = getattr(shell, "execution_count", None)
        if cell is not None and self._shown_in == cell:
            return
        self._shown_in = cell
        from IPython.display import display

        panel = self.panel()
        display({"text/plain": panel.text(), "text/html": panel.html()}, raw=True)

    def show(self):
        """Display now: rich output under IPython, printed text elsewhere. Returns self."""
        if _shell() is not None:
            self._shown_in = None
            self._ipython_display_()
        else:
            print(self.panel().text())
        return self
