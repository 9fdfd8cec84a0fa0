"""Lesson 06's checks, where a right/wrong answer is not the whole test: the student's line in a
translated PyTorch error, the broken block handed out really has both faults, a debugging
exercise's first words name the symptom, an answer that lies about its values.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson06.py``, run by ``test_every_exercise.py``."""

import importlib.util
from pathlib import Path

import pytest
import torch

from course_utils.exercises import lesson06 as ex
from course_utils.exercises.testing import assert_check_failed

_BANK = Path(__file__).resolve().parents[1] / "exercise_answers" / "lesson06.py"
_spec = importlib.util.spec_from_file_location("exercise_answers_lesson06", _BANK)
bank = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bank)


# --- what PyTorch raises, said in the exercise's terms, with the student's line -------------------

def test_q1_a_raw_shape_error_is_translated_with_the_students_line():
    class ConvsInTheWrongOrder(ex.ResidualReference):
        def forward(self, x):
            return self.conv1(torch.relu(self.conv2(x))) + x

    outcome = assert_check_failed(ex.q1, ConvsInTheWrongOrder,
                                  match="Your ResidualBlock(4, 6) raised an error: the layer `conv2` (Conv2d, 6 → 4 "
                                        "channels, 3×3) received 4 channels")
    assert "in forward: `return self.conv1(torch.relu(self.conv2(x))) + x`" in outcome.message


@pytest.mark.parametrize("answer, line", [
    (bank.ShortcutNoneCalled, "`return self.conv2(torch.relu(self.conv1(x))) + self.shortcut(x)`"),
    (bank.ProjectionRegisteredButNotUsed, "`return self.conv2(torch.relu(self.conv1(x))) + x`"),
])
def test_q2_raw_errors_name_the_students_line(answer, line):
    outcome = assert_check_failed(ex.q2, answer)
    assert f"in forward: {line}" in outcome.message


# --- q4 (debugging): the block handed out, and what the student reads first ----------------------

def test_q4_the_broken_block_really_has_both_faults():
    block = bank.BrokenPreActBlock(4)
    with torch.no_grad():
        block.conv2.weight.zero_()
        block.conv2.bias.zero_()
    x = torch.randn(1, 4, 5, 5)
    before = x.clone()
    y = block(x)
    assert torch.count_nonzero(y) == 0                          # the sum is thrown away
    assert torch.equal(x, torch.relu(before)) and not torch.equal(x, before)   # and x was overwritten


def test_q4_title_first_message_and_first_hints_name_the_symptom_not_the_fix():
    outcome = assert_check_failed(ex.q4, bank.BrokenPreActBlock)
    for text in (ex.q4.title, outcome.message, ex.q4.hints[0], ex.q4.hints[1]):
        assert "inplace" not in text and "add(" not in text and "`+`" not in text
    assert "inplace=True" in ex.q4.hints[-1]


# --- an answer that lies: compared as plain tensors ------------------------------------------------

class AlwaysClose(torch.Tensor):
    """A tensor that answers True to every comparison: a plain-value check is not fooled."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class PreActThatLies(bank.PreActFixedInPlace):
    def forward(self, x):
        return (super().forward(x) * 0 + x.mean()).as_subclass(AlwaysClose)


def test_q4_an_output_that_lies_about_its_values_is_refused():
    assert_check_failed(ex.q4, PreActThatLies, match="Right layers, different output")
