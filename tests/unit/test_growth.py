"""course_utils.growth: stall detection, registering new parameters, the growing loop."""

import pytest
import torch
from torch import nn

from course_utils.growth import (
    GrowthHistory,
    StallDetector,
    new_parameters,
    plot_growth,
    register_new_parameters,
    train_with_growth,
)


class ZeroResidual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.expand = nn.Linear(width, width)
        self.project = nn.Linear(width, width)
        nn.init.zeros_(self.project.weight)
        nn.init.zeros_(self.project.bias)

    def forward(self, h):
        return h + self.project(torch.relu(self.expand(h)))


class Growing(nn.Module):
    def __init__(self, width=8):
        super().__init__()
        self.width = width
        self.stem = nn.Linear(1, width)
        self.blocks = nn.ModuleList()
        self.head = nn.Linear(width, 1)

    def grow(self):
        self.blocks.append(ZeroResidual(self.width))

    def forward(self, x):
        h = self.stem(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h)


@pytest.fixture
def data():
    torch.manual_seed(0)
    x = torch.linspace(-3, 3, 64).unsqueeze(1)
    return x, torch.sin(2 * x)


def test_detector_waits_for_patience_then_flags_a_flat_loss():
    detector = StallDetector(patience=3, min_improvement=0.01)
    assert [detector.update(1.0) for _ in range(3)] == [False, False, False]
    assert detector.update(1.0) is True


def test_detector_does_not_flag_a_falling_loss():
    detector = StallDetector(patience=3, min_improvement=0.01)
    assert not any(detector.update(0.9 ** n) for n in range(50))


def test_detector_reset_forgets_history():
    detector = StallDetector(patience=2)
    for _ in range(5):
        detector.update(1.0)
    detector.reset()
    assert detector.update(1.0) is False and detector.losses == [1.0]


def test_detector_rejects_zero_patience():
    with pytest.raises(ValueError, match="patience"):
        StallDetector(patience=0)


def test_register_new_parameters_adds_only_the_unknown_ones():
    model = Growing()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    assert new_parameters(optimizer, model) == []
    model.grow()
    names = register_new_parameters(optimizer, model, lr=0.5)
    assert names == ["blocks.0.expand.weight", "blocks.0.expand.bias",
                     "blocks.0.project.weight", "blocks.0.project.bias"]
    assert len(optimizer.param_groups) == 2 and optimizer.param_groups[1]["lr"] == 0.5
    assert register_new_parameters(optimizer, model) == []  # idempotent: nothing twice
    assert new_parameters(optimizer, model) == []


def test_register_keeps_adam_state_of_old_parameters(data):
    x, y = data
    model = Growing()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    nn.MSELoss()(model(x), y).backward()
    optimizer.step()
    state_before = optimizer.state[model.stem.weight]["exp_avg"].clone()
    model.grow()
    register_new_parameters(optimizer, model)
    assert torch.equal(optimizer.state[model.stem.weight]["exp_avg"], state_before)


def test_loop_grows_when_stalled_and_new_layers_learn(data):
    x, y = data
    torch.manual_seed(0)
    model = Growing()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = train_with_growth(model, optimizer, x, y, Growing.grow, steps=300,
                                detector=StallDetector(30, 0.01), max_growths=2, progress=None)
    assert isinstance(history, GrowthHistory)
    assert len(history.losses) == 300
    assert 1 <= len(history.growth_steps) <= 2
    assert len(model.blocks) == len(history.growth_steps)
    assert history.parameter_counts[0] == 8 + 8 + 9
    assert history.parameter_counts[-1] == sum(p.numel() for p in model.parameters())
    assert history.registered[0] == ["blocks.0.expand.weight", "blocks.0.expand.bias",
                                     "blocks.0.project.weight", "blocks.0.project.bias"]
    assert model.blocks[0].project.weight.abs().sum() > 0  # the zero-initialised layer moved
    assert history.losses[-1] < history.losses[history.growth_steps[0] - 1] / 2


def test_loop_without_telling_optimizer_leaves_new_layers_untouched(data):
    x, y = data
    torch.manual_seed(0)
    model = Growing()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = train_with_growth(model, optimizer, x, y, Growing.grow, steps=200,
                                detector=StallDetector(30, 0.01), max_growths=1,
                                tell_optimizer=False, progress=None)
    assert history.growth_steps and history.registered == [[]]
    assert torch.equal(model.blocks[0].project.weight, torch.zeros(8, 8))
    assert model.blocks[0].project.weight.grad is not None  # gradients exist, nobody applies them


def test_new_group_options_reach_the_optimizer(data):
    x, y = data
    torch.manual_seed(0)
    model = Growing()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = train_with_growth(model, optimizer, x, y, Growing.grow, steps=200,
                                detector=StallDetector(30, 0.01), max_growths=1,
                                new_group_options={"lr": 0.001}, progress=None)
    assert history.growth_steps
    assert [group["lr"] for group in optimizer.param_groups] == [0.01, 0.001]
    assert optimizer.param_groups[1]["params"][0] is model.blocks[0].expand.weight


def test_text_progress_goes_to_stdout_only(data, capsys):
    x, y = data
    model = Growing()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    history = train_with_growth(model, optimizer, x, y, Growing.grow, steps=100,
                                detector=StallDetector(20, 0.01), report_every=50)
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    assert any(line.startswith("step   50  loss") for line in lines)
    assert lines[-1].startswith("step  100  loss")
    assert sum("stalled -> grew to" in line for line in lines) == len(history.growth_steps)


def test_bar_progress_writes_nothing_to_stdout(data, capsys):
    x, y = data
    model = Growing()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train_with_growth(model, optimizer, x, y, Growing.grow, steps=20, progress="bar")
    assert capsys.readouterr().out == ""


def test_bad_progress_value_is_refused(data):
    x, y = data
    model = Growing()
    with pytest.raises(ValueError, match="progress"):
        train_with_growth(model, torch.optim.SGD(model.parameters(), lr=0.1), x, y,
                          Growing.grow, steps=1, progress="fancy")


def test_summary_names_each_growth():
    history = GrowthHistory(losses=[1.0, 0.5, 0.25, 0.2], growth_steps=[2],
                            parameter_counts=[10, 30], registered=[["a"]])
    assert history.summary().splitlines() == [
        "steps: 4, loss 1.0000 -> 0.2000",
        "start: 10 parameters",
        "growth 1 at step 2: loss 0.5000, now 30 parameters",
    ]


def test_plot_marks_each_growth():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    history = GrowthHistory(losses=[1.0, 0.5, 0.4, 0.1, 0.09], growth_steps=[2, 4],
                            parameter_counts=[1, 2, 3], registered=[[], []])
    ax = plot_growth(history)
    vertical = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in vertical] == [2, 4]
    assert [t.get_text() for t in ax.texts] == ["growth 1", "growth 2"]
    assert ax.get_yscale() == "log"
    plt.close(ax.figure)
