"""``ValueAnswer`` (``course_utils.exercises.kinds``) on small exercises declared here: a value is refused
by what it is before anything is read of it, compared with the check's own ``expected()``, its mistakes
named in order; a value that lies about equality is judged by what it is; ``matched`` runs only for a
right value. Lessons 00.q2 and 05.q1 are tested by their banks."""

import pytest
import torch
from torch import nn

from course_utils.exercises import checks
from course_utils.exercises.engine import Incorrect
from course_utils.exercises.kinds import Mistake, ValueAnswer
from course_utils.exercises.testing import assert_check_failed, assert_check_passed, assert_check_unattempted

HINTS = ["Look at the statement.", "Read the solution."]


class MatrixShape(ValueAnswer):
    id, title, why, hints = "lesson90.q7", "The shape of x @ w.T", "(5, 3) @ (3, 4) is (5, 4).", HINTS
    refuse = [Mistake("Give two integers; you gave {kind}.",
                      when=lambda s: type(s.got) not in (tuple, list) or len(s.got) != 2
                      or not all(type(n) is int for n in s.got))]
    mistakes = [Mistake("{got} is the shape of w.T @ x.T: the other order.", when=lambda s: s.got == (4, 5)),
                Mistake("{got[0]} rows: the rows of x stay, {expected[0]} of them.", when=lambda s: s.got[0] != 5)]
    otherwise = "{got[1]} columns; expected {expected[1]}."

    def expected(self):
        return tuple((torch.zeros(5, 3) @ torch.zeros(4, 3).T).shape)

    def reads(self, seen):
        return tuple(seen.got)


matrix_shape = MatrixShape()


class Lies(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("answer", [(5, 4), [5, 4], torch.Size([5, 4])], ids=["tuple", "list", "size"])
def test_value_answer_accepts_every_spelling_of_the_value(answer):
    assert_check_passed(matrix_shape, answer)


@pytest.mark.parametrize("answer, message", [
    ((4, 5), "(4, 5) is the shape of w.T @ x.T: the other order."),
    ((3, 4), "3 rows: the rows of x stay, 5 of them."),
    ((5, 3), "3 columns; expected 4."),
    ((5, 4, 1), "Give two integers; you gave a tuple."),
    ("5, 4", "Give two integers; you gave a str."),
    ((5, Lies(3)), "3 columns; expected 4."),
])
def test_value_answer_names_each_mistake_in_order(answer, message):
    assert assert_check_failed(matrix_shape, answer).message == message


def test_a_value_answer_not_given_is_not_attempted():
    assert_check_unattempted(matrix_shape)


class OneLayer(ValueAnswer):
    """A value that is a module: refused by kind before it is read, run only once it is right."""

    id, title, why, hints = "lesson90.q8", "A 4→2 layer", "nn.Linear(4, 2).", HINTS
    refuse = [Mistake("Expected a layer, got {kind}.", when=lambda s: not s.answer.is_module("Linear"))]
    otherwise = "Your layer maps {got[0]} features to {got[1]}."
    matched_runs = 0

    def expected(self):
        return (4, 2)

    def reads(self, seen):
        settings = seen.answer.tree()[0].settings
        return settings["in_features"], settings["out_features"]

    def matched(self, seen):
        type(self).matched_runs += 1
        output = checks.call(seen.answer, checks.hidden_input(3, 4), what="your layer")
        if float(output.abs().sum()) == 0:
            raise Incorrect("Your layer outputs only zeros.")


one_layer = OneLayer()


def zeroed(layer):
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def test_a_value_answer_runs_matched_only_for_a_right_value():
    runs = OneLayer.matched_runs
    assert assert_check_failed(one_layer, nn.Linear(2, 4)).message == "Your layer maps 2 features to 4."
    assert assert_check_failed(one_layer, nn.Conv1d(4, 2, 1)).message.startswith("Expected a layer, got a")
    assert OneLayer.matched_runs == runs
    assert_check_passed(one_layer, nn.Linear(4, 2))
    assert assert_check_failed(one_layer, zeroed(nn.Linear(4, 2))).message == "Your layer outputs only zeros."
    assert OneLayer.matched_runs > runs
