"""Lesson 04's checks, where a right/wrong answer is not the whole test: the student's line in the
message, the saved model the statement promises, the record of the loads, the first message of
the debugging exercise.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson04.py``, run by ``test_every_exercise.py``."""

from collections import OrderedDict

import pytest
from torch import nn

from course_utils.exercises import lesson04 as ex
from course_utils.exercises.testing import assert_check_errored, assert_check_failed


# --- the student's line ---------------------------------------------------------------------

@pytest.mark.parametrize("container, said", [(list, "a list of pairs"), (dict, "a plain `dict`")],
                         ids=["list-of-pairs", "plain-dict"])
def test_q1_pairs_not_in_an_ordereddict_get_the_course_message_with_the_students_line(container, said):
    outcome = assert_check_failed(ex.q1, lambda model, names: nn.Sequential(container(zip(names, model))),
                                  match=f"`nn.Sequential` takes names only from an `OrderedDict`: it treats {said}")
    assert "(At test_lesson04.py, line" in outcome.message


def remap_two_way_split(state_dict, mapping):
    renamed = {}
    for key, value in state_dict.items():
        module, rest = key.split(".")
        renamed[mapping.get(module, module) + "." + rest] = value
    return renamed


def remap_with_a_typo(state_dict, mapping):
    return {key: valeu for key, value in state_dict.items()}  # noqa: F821


def test_q2_two_way_split_gets_the_course_message_with_the_students_line():
    outcome = assert_check_failed(ex.q2, remap_two_way_split, match="`key.split('.')` splits at EVERY dot")
    assert "in remap_two_way_split: `module, rest = key.split(\".\")`" in outcome.message


def test_q2_an_unrelated_error_stays_an_error_in_the_students_code():
    outcome = assert_check_errored(ex.q2, remap_with_a_typo, match="NameError: name 'valeu' is not defined")
    assert outcome.location is not None and outcome.location.place == "test_lesson04.py"


def freeze_by_indexing(model, names):
    for name in names:
        model[name].requires_grad_(False)


def test_q3_indexing_a_sequential_by_name_is_explained_with_the_students_line():
    outcome = assert_check_failed(ex.q3, freeze_by_indexing, match="square brackets on an `nn.Sequential`")
    assert "`model[name].requires_grad_(False)`" in outcome.message


def named_model(relu_names=("relu1", "relu2")):
    return nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(6, 8)), (relu_names[0], nn.ReLU()),
        ("fc2", nn.Linear(8, 8)), (relu_names[1], nn.ReLU()),
        ("head", nn.Linear(8, 3)),
    ]))


def names_fixed_strict_without_renaming(saved):
    model = named_model()
    model.load_state_dict(saved)
    return model


def test_q4_strict_refusal_points_at_the_students_line():
    outcome = assert_check_failed(ex.q4, names_fixed_strict_without_renaming, match="refused")
    assert "in names_fixed_strict_without_renaming: `model.load_state_dict(saved)`" in outcome.message


# --- what the statement promises, and the record of the loads ------------------------------------

def test_q2_the_saved_model_has_the_keys_the_statement_promises():
    keys = list(ex.nested_model().state_dict())
    assert {"0.0.weight", "0.2.weight", "1.weight", "10.weight", "11.0.weight", "11.1.running_mean"} <= set(keys)
    assert ex.renamed_key("11.1.num_batches_tracked", {"11": "head"}) == "head.1.num_batches_tracked"
    assert ex.renamed_key("10.weight", {"1": "first"}) == "10.weight"


def names_fixed_still_not_strict(saved):
    model = named_model()
    model.load_state_dict(saved, strict=False)
    return model


def test_q4_the_record_of_the_loads_leaves_load_state_dict_as_it_was():
    original = nn.Module.load_state_dict
    recorder = ex.RecordingLoads(names_fixed_still_not_strict)
    recorder(ex.saved_numbered_model().state_dict())
    assert nn.Module.load_state_dict is original
    assert [entry["strict"] for entry in recorder.loads] == [False] and len(recorder.loads[0]["unexpected"]) == 6


def strict_load_in_try(saved):
    model = named_model()
    try:
        model.load_state_dict(saved)
    except RuntimeError:
        pass
    return model


def test_q4_a_caught_refusal_is_told_so():
    assert "a `try`/`except` around the load?" in assert_check_failed(ex.q4, strict_load_in_try).message


def broken_load_named(saved):  # the notebook's broken version, as handed out
    model = named_model(("relu", "relu"))
    model.load_state_dict(saved, strict=False)
    return model


def test_q4_the_first_message_for_the_handed_out_code_names_the_symptom_not_the_fix():
    message = assert_check_failed(ex.q4, broken_load_named).message
    assert "relu1" not in message and "relu2" not in message and "OrderedDict" not in message
    assert len(ex.q4.hints) >= 3 and "relu1" in ex.q4.hints[-1]
    assert not any("relu1" in hint or "strict=True" in hint for hint in ex.q4.hints[:-1])
