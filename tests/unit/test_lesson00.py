"""Lesson 00's checks, where a right/wrong answer is not the whole test: the student's line,
answers that lie about their values, the stub.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson00.py``, run by ``test_every_exercise.py``; the reference, the
stub and the hints of every exercise are tested there once for all lessons.
"""

import torch

from course_utils.exercises import lesson00 as ex
from course_utils.exercises.testing import (assert_check_errored, assert_check_failed, assert_check_passed,
                                            assert_check_unattempted)


def test_q0_student_error_points_at_their_line():
    outcome = assert_check_errored(ex.q0, lambda b: torch.zeros(b, 3, 32, "32"), match="TypeError: zeros()")
    assert outcome.location.place == "test_lesson00.py"


class LyingTensor(torch.Tensor):
    """A tensor subclass that answers every comparison with True."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.count_nonzero):
            return True if func is not torch.Tensor.count_nonzero else torch.tensor(0)
        return super().__torch_function__(func, types, args, kwargs or {})


def test_q1_a_tensor_subclass_cannot_lie_about_its_values():
    liar = lambda n, h, w: torch.ones(n, 1, h, w).as_subclass(LyingTensor)  # noqa: E731
    assert liar(1, 2, 2).count_nonzero().item() == 0          # it does lie to a plain call
    assert_check_failed(ex.q1, liar, match="contains values other than zero")


def total(model):
    return sum(p.numel() for p in model.parameters())


def trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class AlwaysEqual(int):
    """An int that says it equals everything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


class ShiftedFloat(float):
    """A float that pretends to be an int-valued count."""


def test_q3_an_int_subclass_that_equals_everything_is_refused():
    assert AlwaysEqual(1) == 147                                # it does lie to a plain comparison
    assert_check_failed(ex.q3, lambda m: (AlwaysEqual(1), AlwaysEqual(1)),
                        match="For nn.Linear(20, 7) you counted 1; it has 147")


def test_q3_an_int_subclass_with_the_right_count_passes():
    assert_check_passed(ex.q3, lambda m: (AlwaysEqual(total(m)), AlwaysEqual(trainable(m))))


def test_q3_a_float_subclass_is_refused():
    assert_check_failed(ex.q3, lambda m: (ShiftedFloat(total(m)), trainable(m)),
                        match="`count_parameters` (the total) returned a float; return a Python int.")


def test_q3_stub_raising_not_implemented_is_not_attempted():
    def count_parameters(model):
        # YOUR CODE HERE
        raise NotImplementedError

    assert_check_unattempted(ex.q3, count_parameters)
