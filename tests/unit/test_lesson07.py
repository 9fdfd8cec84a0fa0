"""Lesson 07's checks, where a right/wrong answer is not the whole test: the student's line in a
translated PyTorch error, the broken network handed out is the one tested, a debugging exercise's
first words name the symptom.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson07.py``, run by ``test_every_exercise.py``."""

import ast
import importlib.util
import json
from pathlib import Path

import torch
from torch import nn

from course_utils.exercises import lesson07 as ex
from course_utils.exercises.testing import assert_check_failed

REPO = Path(__file__).resolve().parents[2]
_BANK = REPO / "tests" / "exercise_answers" / "lesson07.py"
_spec = importlib.util.spec_from_file_location("exercise_answers_lesson07", _BANK)
bank = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bank)


def test_q1_a_shape_error_in_student_forward_is_translated_with_the_line():
    class Broken(bank.Q1Base):
        def forward(self, x, use_extra):
            return self.last(self.first(x).reshape(2, -1))

    outcome = assert_check_failed(ex.q1, Broken, match="Your model raised an error: the layer `last` (Linear, 8 → 3 "
                                                       "features) received 20 features per sample")
    assert "in forward: `return self.last(self.first(x).reshape(2, -1))`" in outcome.message


def test_q2_parameters_without_a_dict_get_the_course_message_and_line():
    def add_layer(model, optimizer):
        layer = nn.Linear(model.width, model.width)
        model.layers.append(layer)
        optimizer.add_param_group(layer.parameters())

    outcome = assert_check_failed(ex.q2, add_layer, match="`optimizer.add_param_group` takes one parameter group, "
                                                          "a dict, and you gave it a generator")
    assert "in add_layer: `optimizer.add_param_group(layer.parameters())`" in outcome.message


# --- q5 (debugging): GrowingNet -----------------------------------------------------------------

def test_q5_title_first_message_and_first_hints_name_symptoms_not_fixes():
    outcome = assert_check_failed(ex.q5, bank.BrokenGrowingNet)
    for text in (ex.q5.title, outcome.message, ex.q5.hints[0], ex.q5.hints[1]):
        assert "ModuleList" not in text and "add_param_group" not in text and "zeros_" not in text
    assert "nn.ModuleList" in ex.q5.hints[-1] and "add_param_group" in ex.q5.hints[-1]


def test_q5_the_broken_network_handed_out_is_the_one_tested():
    cells = json.loads((REPO / "solutions" / "07_dynamic_growth.ipynb").read_text(encoding="utf-8"))["cells"]
    handed_out = next("".join(c["source"]) for c in cells if "class BrokenGrowingNet" in "".join(c["source"]))
    tree = ast.parse(handed_out)
    cls = next(node for node in tree.body if isinstance(node, ast.ClassDef))
    namespace = {"torch": torch, "nn": nn, "Block": ex.Block}
    exec(compile(ast.Module(body=[cls], type_ignores=[]), "notebook", "exec"), namespace)
    outcome = assert_check_failed(ex.q5, namespace["BrokenGrowingNet"])
    assert outcome.message == ex.q5.evaluate(bank.BrokenGrowingNet).message


def test_q5_a_parameter_given_twice_points_at_the_students_line():
    outcome = assert_check_failed(ex.q5, bank.GivesTheOptimizerEverything, match="already had")
    assert "in grow: `optimizer.add_param_group({\"params\": self.parameters()})`" in outcome.message
