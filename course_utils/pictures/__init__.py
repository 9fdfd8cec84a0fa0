"""Pictures for the lessons: forward graph, autograd graph, module tree, shape table, and a
plain-words explanation of shape errors.

Importing this package is light (torch, which every lesson imports anyway, and our own small
modules); Graphviz is only called as a program when a picture is rendered.
"""

from .autograd import draw_autograd
from .explain import explain_shape_error
from .forward import draw_graph
from .modules import show_modules
from .shapes import trace_shapes

__all__ = ["draw_autograd", "draw_graph", "explain_shape_error", "show_modules", "trace_shapes"]
