"""Gradient flow through a deep stack, with and without skip connections.

Lesson 06's claim is that a residual connection gives the gradient a short path back to
the early layers. This widget shows it: the gradient norm of every layer's weight on a log
scale, redrawn when the student switches the skips on or off or changes the depth.
Models are rebuilt from the same seed each time, so a redraw changes only what the
student changed.
"""

import base64
import io
import time

import ipywidgets as widgets
import torch

from ._output import guarded


def _as_tuple(inputs):
    return inputs if isinstance(inputs, (tuple, list)) else (inputs,)


def _mean_square(output):
    return output.pow(2).mean()


def gradient_norms(model, inputs, loss_fn=None):
    """``[(name, norm), ...]`` of each layer weight's gradient after one backward pass.

    Layer weights are the parameters named ``*weight`` with two or more dimensions (Linear,
    Conv); a model without any falls back to every ``*weight``. The loss is
    ``output.pow(2).mean()`` unless ``loss_fn(output)`` is given. A weight that received no
    gradient (its layer did not run) has norm 0.0.
    """
    model.zero_grad(set_to_none=True)
    output = model(*_as_tuple(inputs))
    loss = (loss_fn or _mean_square)(output)
    loss.backward()
    named = [(n, p) for n, p in model.named_parameters() if n.endswith("weight")]
    layers = [(n, p) for n, p in named if p.dim() >= 2] or named
    if not layers:
        raise ValueError("gradient_norms: the model has no parameter named '*weight'")
    return [(n, float(p.grad.norm()) if p.grad is not None else 0.0) for n, p in layers]


def build_seeded(build_model, depth, skip, seed):
    """``build_model(depth, skip)`` under a fixed seed, leaving the global RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_model(depth, skip)


def plot_gradient_norms(curves, title="", ax=None):
    """Plot ``{label: [(name, norm), ...]}`` on a log scale; returns the matplotlib Figure.

    Uses ``matplotlib.figure.Figure`` (not pyplot) so nothing is shown twice in a notebook.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, NullLocator

    figure = None
    if ax is None:
        figure = Figure(figsize=(6, 3.2), dpi=72)
        # fixed margins: tight_layout would render the figure twice (half the redraw time)
        figure.subplots_adjust(left=0.13, right=0.97, top=0.9, bottom=0.15)
        ax = figure.add_subplot()
    for (label, norms), style in zip(curves.items(), ("o-", "s--", "^:", "d-.")):
        xs = [i for i, (_, norm) in enumerate(norms) if norm > 0]
        ys = [norm for _, norm in norms if norm > 0]
        ax.plot(xs, ys, style, label=label, markersize=4)
    ax.set_yscale("log")
    # few ticks: creating tick objects is most of the drawing time (minor log ticks: 60 of them)
    ax.yaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.set_xlabel("layer index (input side on the left)")
    ax.set_ylabel("gradient norm of weight")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    ax.relim()
    ax.autoscale_view()
    return figure or ax.figure


def clear_curves(ax):
    """Remove the plotted curves but keep the axes (its tick objects are costly to rebuild)."""
    for line in list(ax.lines):
        line.remove()
    if ax.get_legend() is not None:
        ax.get_legend().remove()


def figure_output(figure, summary):
    """An output-area item holding the figure as PNG and ``summary`` as its text."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
            "text/plain": summary,
        },
    }


def summarize(norms):
    """``first layer 1.2e-02, last layer 3.4e-01 (ratio 28)`` for a list of norms."""
    first, last = norms[0][1], norms[-1][1]
    ratio = last / first if first > 0 else float("inf")
    return f"first layer {first:.2e}, last layer {last:.2e} (last/first = {ratio:.3g})"


class GradientFlow(widgets.VBox):
    """A skip-connections checkbox and a depth slider over a gradient-norm plot.

    Attributes: ``skip_checkbox``, ``depth_slider``, ``plot_output`` (also ``output``:
    errors are shown there), ``norms`` (last ``[(name, norm)]``), ``comparison`` (the same
    depth with the skips toggled, drawn dashed), ``last_redraw_ms``, ``redraws``,
    ``last_error``.
    """

    def __init__(self, build_model, inputs, depths=(2, 4, 8, 16, 32), depth=None, skip=False,
                 loss_fn=None, seed=0, compare=True):
        depths = tuple(int(d) for d in depths)
        depth = depths[len(depths) // 2] if depth is None else int(depth)
        if depth not in depths:
            raise ValueError(f"gradient_flow: depth={depth} is not one of depths={depths}")
        self.build_model = build_model
        self.inputs = inputs
        self.loss_fn = loss_fn
        self.seed = seed
        self.compare = compare
        self.norms = []
        self.comparison = []
        self.last_error = None
        self.last_redraw_ms = None
        self.redraws = 0
        self._figure = None

        self.skip_checkbox = widgets.Checkbox(value=bool(skip), description="skip connections",
                                              indent=False)
        self.depth_slider = widgets.SelectionSlider(options=depths, value=depth,
                                                    description="depth", continuous_update=False)
        self.summary_label = widgets.Label("")
        self.plot_output = widgets.Output()
        self.output = self.plot_output
        super().__init__([
            widgets.HBox([self.skip_checkbox, self.depth_slider]),
            self.summary_label,
            self.plot_output,
        ])
        self.add_class("course-gradient-flow")
        # stable hooks for the browser tests (tests/browser)
        self.skip_checkbox.add_class("course-skip")
        self.summary_label.add_class("course-summary")
        self.plot_output.add_class("course-plot")

        self._redraw_guarded = guarded(self, self.plot_output)(self.redraw)
        self.skip_checkbox.observe(lambda _c: self._redraw_guarded(), names="value")
        self.depth_slider.observe(lambda _c: self._redraw_guarded(), names="value")
        self._redraw_guarded()

    def _norms_for(self, skip):
        model = build_seeded(self.build_model, self.depth_slider.value, skip, self.seed)
        return gradient_norms(model, self.inputs, self.loss_fn)

    def redraw(self):
        """Rebuild the model(s), run forward and backward, and redraw the plot."""
        start = time.perf_counter()
        try:
            skip, depth = self.skip_checkbox.value, self.depth_slider.value
            self.norms = self._norms_for(skip)
            name = "with skips" if skip else "plain"
            curves = {name: self.norms}
            if self.compare:
                self.comparison = self._norms_for(not skip)
                curves["plain" if skip else "with skips"] = self.comparison
            summary = f"depth {depth}, {name}: {summarize(self.norms)}"
            title = f"depth {depth}, skip connections {'on' if skip else 'off'}"
            if self._figure is None:
                self._figure = plot_gradient_norms(curves, title)
            else:  # redraw on the same axes: about three times faster than a new figure
                clear_curves(self._figure.axes[0])
                plot_gradient_norms(curves, title, ax=self._figure.axes[0])
            figure = self._figure
            self.plot_output.outputs = (figure_output(figure, summary),)
            self.summary_label.value = summary
        except Exception:
            self.summary_label.value = "(the update failed, see below)"
            raise
        finally:
            self.redraws += 1
            self.last_redraw_ms = (time.perf_counter() - start) * 1000


def gradient_flow(build_model, inputs, depths=(2, 4, 8, 16, 32), depth=None, **options):
    """Explore gradient norms per layer; ``build_model(depth, skip) -> nn.Module``."""
    return GradientFlow(build_model, inputs, depths=depths, depth=depth, **options)
