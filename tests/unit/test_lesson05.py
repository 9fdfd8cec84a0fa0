"""Lesson 05's checks, where a right/wrong answer is not the whole test: the student's line in the
message, the broken network of the debugging exercise and its first message, the same verdict
and message on a grader's fresh inputs.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson05.py``, run by ``test_every_exercise.py``."""

import importlib.util
from pathlib import Path

import pytest
import torch
from torch import nn

from course_utils.exercises import lesson05 as ex
from course_utils.exercises.testing import assert_check_failed

_BANK = Path(__file__).resolve().parents[1] / "exercise_answers" / "lesson05.py"
_spec = importlib.util.spec_from_file_location("exercise_answers_lesson05_for_tests", _BANK)
bank = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bank)


class CatOnBatch(ex.TwoBranchReference):
    def forward(self, x):
        return self.head(torch.cat([self.branch1(x), self.branch2(x)], dim=0))


def test_q2_cat_on_the_batch_gets_the_course_message_with_the_students_line():
    outcome = assert_check_failed(ex.q2, CatOnBatch, match="torch.cat refused the branches")
    assert "(At test_lesson05.py, line" in outcome.message and "in forward:" in outcome.message


class HeadWidthTypedInSensor(bank.SensorFixedInPlace):
    def __init__(self, a_features, b_features, hidden, n_classes):
        super().__init__(a_features, b_features, hidden, n_classes)
        self.head = nn.Linear(16, n_classes)

    def forward(self, a, b):
        return self.head(torch.cat([self.branch_a(a), self.branch_b(b)], dim=1))


def test_q4_a_head_too_narrow_points_at_the_students_line():
    outcome = assert_check_failed(ex.q4, HeadWidthTypedInSensor, match="cannot read")
    assert "in forward: `return self.head(torch.cat([self.branch_a(a), self.branch_b(b)], dim=1))`" in outcome.message


def test_q4_the_broken_network_really_has_the_fault():
    broken = bank.BrokenSensorNet(4, 6, 8, 3)
    a, b = torch.randn(5, 4), torch.randn(5, 6)
    scores = broken(a, b)
    assert not torch.equal(scores, broken(a, torch.randn(5, 6)))      # the scores depend on b...
    scores.sum().backward()
    assert broken.branch_b[0].weight.grad is None                        # ...but no gradient reaches it
    assert broken.branch_a[0].weight.grad is not None


def test_q4_the_first_message_names_the_symptom_not_the_fix():
    outcome = assert_check_failed(ex.q4, bank.BrokenSensorNet)
    assert "no_grad" not in outcome.message and "no_grad" not in ex.q4.title
    assert all("no_grad" not in hint for hint in ex.q4.hints[:2]) and "no_grad" in ex.q4.hints[-1]


@pytest.mark.parametrize("exercise, answer", [
    (ex.q2, bank.TwoBranchModuleList), (ex.q2, bank.SwappedOrder), (ex.q2, bank.HiddenSizesSwapped),
    (ex.q2, bank.CatOnBatch), (ex.q3, bank.TwoHeadsFlat), (ex.q3, bank.TrunkComputedTwice), (ex.q3, bank.NoReLU),
    (ex.q4, bank.SensorModuleDict), (ex.q4, bank.SensorBranchesSwapped), (ex.q4, bank.BrokenSensorNet),
    (ex.q4, bank.SensorThatLies),
], ids=lambda value: getattr(value, "id", getattr(value, "__name__", "")))
def test_fresh_inputs_under_grading_give_the_same_message(exercise, answer):
    """The bank compares statuses on fresh inputs; here the whole message must not change either."""
    from course_utils.probes.client import LocalTransport

    notebook = exercise.evaluate(answer)
    graded = exercise.judge(LocalTransport({"answer": answer}), "answer", secret=20261206)
    assert (graded.status, graded.message) == (notebook.status, notebook.message)
