"""Small models in the shape of lessons 06 and 07, for the widgets' tests and benchmark.

They mirror the seeds (a flag on a sub-module, a ``condition`` argument to ``forward``, a
deep stack whose blocks may add their input back) so that what is measured here is what
the lessons run.
"""

from torch import nn


class AdaptiveLayer(nn.Module):
    """Applies Linear + ReLU only when ``add_condition`` is True (seed 001, example 3)."""

    def __init__(self, input_size, output_size, add_condition=False):
        super().__init__()
        self.add_condition = add_condition
        self.linear = nn.Linear(input_size, output_size)
        self.relu = nn.ReLU()

    def forward(self, x):
        if self.add_condition:
            x = self.relu(self.linear(x))
        return x


class ConditionalNet(nn.Module):
    """A flag-switched layer and a ``forward(x, condition)`` layer in one model."""

    def __init__(self, in_features=10, hidden=20, out_features=5):
        super().__init__()
        self.initial_layer = nn.Linear(in_features, hidden)
        self.adaptive_layer = AdaptiveLayer(hidden, 2 * hidden)
        self.head = nn.Linear(2 * hidden, out_features)

    def forward(self, x, condition=False):
        x = self.adaptive_layer(self.initial_layer(x))
        if condition:
            x = self.head(x)
        return x


class Block(nn.Module):
    """Linear + Tanh; with ``skip`` the block returns ``x + f(x)`` (a residual block)."""

    def __init__(self, width, skip):
        super().__init__()
        self.linear = nn.Linear(width, width)
        self.act = nn.Tanh()
        self.skip = skip

    def forward(self, x):
        out = self.act(self.linear(x))
        return x + out if self.skip else out


def build_stack(depth, skip, width=16):
    """``depth`` blocks and a Linear head: plain when ``skip`` is False, residual otherwise."""
    return nn.Sequential(*[Block(width, skip) for _ in range(depth)], nn.Linear(width, 1))
