"""``Picture``: what the drawing tools return, rendered by Graphviz ``dot`` or by our fallback.

Why apart from graph.py: the graph is plain data that the fallback layout reads; rendering
needs both, so the imports run one way (picture -> fallback -> graph) and the data model can
be used and tested without either renderer.
"""

from __future__ import annotations

import shutil
import subprocess

from .fallback import render_svg
from .graph import Graph

INSTALL_MESSAGE = (
    "Graphviz's `dot` program was not found, so pictures use the simple built-in layout. "
    "For the better layout install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), "
    "`conda install graphviz` (conda) or `brew install graphviz` (macOS), then restart "
    "the kernel."
)
_message_shown = False


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
