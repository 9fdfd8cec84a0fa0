"""`course_utils.check_claims`: what a lesson's text claims about a training run, checked and
printed the same way on every machine."""

import pytest

import course_utils
from course_utils.claims import ClaimError, check_claims


def test_claims_that_hold_print_one_stable_line_each(capsys):
    check_claims({"the loss ends below 0.01": 0.0008 < 0.01, "the network grows twice": 2 == 2})
    assert capsys.readouterr().out == "✓ the loss ends below 0.01\n✓ the network grows twice\n"


def test_a_claim_that_does_not_hold_is_marked_and_raises(capsys):
    with pytest.raises(ClaimError, match="claims what this run did not show: the network grows twice"):
        check_claims({"the loss ends below 0.01": True, "the network grows twice": False,
                      "the last claim is still printed": True})
    assert capsys.readouterr().out == ("✓ the loss ends below 0.01\n✗ the network grows twice\n"
                                       "✓ the last claim is still printed\n")


def test_tensor_and_numpy_truth_values_are_accepted(capsys):
    import numpy as np
    import torch

    check_claims({"a tensor": torch.tensor(3) > 2, "a numpy bool": np.float32(0.1) < 1})
    assert capsys.readouterr().out == "✓ a tensor\n✓ a numpy bool\n"


def test_lessons_reach_it_from_the_package():
    assert course_utils.check_claims is check_claims
    assert issubclass(ClaimError, AssertionError)
