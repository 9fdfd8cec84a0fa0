"""check_environment() gives a verdict a student can act on; seed_everything() repeats numbers."""

import shutil

import torch

from course_utils.environment import Check, EnvironmentReport, check_environment, seed_everything


def test_seed_everything_repeats_random_tensors():
    seed_everything(0)
    first = torch.randn(3)
    seed_everything(0)
    assert torch.equal(first, torch.randn(3))
    seed_everything(1)
    assert not torch.equal(first, torch.randn(3))


def test_report_on_this_machine_is_ready():
    report = check_environment()
    names = [c.name for c in report.checks]
    assert names[:2] == ["Python", "PyTorch"]
    assert report.ok, str(report)
    assert "Graphviz (dot)" in names


def test_missing_graphviz_is_optional_and_says_how_to_install(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "dot" else real_which(name))
    report = check_environment()
    graphviz = next(c for c in report.checks if c.name == "Graphviz (dot)")
    assert not graphviz.ok and not graphviz.required
    assert "apt-get install graphviz" in graphviz.detail
    assert report.ok
    assert report.verdict.startswith("Ready. Optional parts missing: Graphviz (dot)")


def test_a_missing_required_part_makes_the_verdict_say_what_to_fix():
    report = EnvironmentReport([Check("Python", True, "3.11"), Check("PyTorch", False, "not installed"),
                                Check("Graphviz (dot)", False, "missing", required=False)])
    assert not report.ok
    assert report.verdict == "Not ready: fix PyTorch (see the README's set-up command)."
    assert "NO PyTorch" in str(report)
    assert "❌" in report._repr_html_()
