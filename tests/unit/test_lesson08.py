"""Lesson 08's checks, where a right/wrong answer is not the whole test: the student's line in a
translated PyTorch error, the 95 % boundary counted in whole images and the report of a pass, the
time budget, a network that looks the known test digits up, the hints, the data split and the
notebook's parts.

The answer bank (right answers in other idioms, wrong ones with their messages) is
``tests/exercise_answers/lesson08.py``, run by ``test_every_exercise.py``."""

import importlib.util
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils.exercises import lesson08 as ex
from course_utils.exercises.testing import assert_check_failed, assert_check_passed
from course_utils.training import load_digit_splits

REPO = Path(__file__).resolve().parents[2]
_BANK = REPO / "tests" / "exercise_answers" / "lesson08.py"
_spec = importlib.util.spec_from_file_location("exercise_answers_lesson08", _BANK)
bank = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bank)
Reference, clip, InlineComposedNet = bank.Reference, bank.clip, bank.InlineComposedNet


# --- what PyTorch raises, said in the exercise's terms, with the student's line -------------------

class BranchAfterRes1(Reference):
    """The parts in the wrong order: res1 (16 → 24) receives the stem's 8 channels, PyTorch raises."""

    def forward(self, x):
        return self.head(self.res2(self.pool(self.branch(self.res1(self.stem(x))))))


def test_q1_a_raw_shape_error_names_the_part_and_the_line():
    outcome = assert_check_failed(ex.q1, BranchAfterRes1,
                                  match="Your CapstoneNet raised an error: the layer `res1.conv1` (Conv2d, 16 → 24 "
                                        "channels, 3×3) received 8 channels")
    assert "stem 1 → 8 channels, branch 8 → 16" in outcome.message
    assert "in forward: `return self.head(self.res2(self.pool(self.branch(self.res1(self.stem(x))))))`" in outcome.message


def step_backward_twice(model, optimizer, images, labels, max_norm):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    clip(model, max_norm)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_clipping_the_model(model, optimizer, images, labels, max_norm):
    optimizer.zero_grad()
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    nn.utils.clip_grad_norm_(model, max_norm)
    optimizer.step()
    return loss.item()


def gap_of_booleans(model, splits):
    model.eval()
    with torch.no_grad():
        train = (model(splits.train_images).argmax(1) == splits.train_labels).mean().item()
    return train


@pytest.mark.parametrize("exercise, answer, message, line", [
    (ex.q2, step_backward_twice, "`backward()` ran twice through the same graph", "loss.backward()"),
    (ex.q2, step_clipping_the_model, "`clip_grad_norm_` take the parameters, `model.parameters()`, not the model",
     "nn.utils.clip_grad_norm_(model, max_norm)"),
    (ex.q4, gap_of_booleans, "`.mean()` of a tensor of True/False values",
     "train = (model(splits.train_images).argmax(1) == splits.train_labels).mean().item()"),
])
def test_raw_errors_in_a_students_function_are_translated_with_the_line(exercise, answer, message, line):
    outcome = assert_check_failed(exercise, answer, match=message)
    assert f"`{line}`)" in outcome.message


# --- q3: the target counted in whole images, the report, the budget, unseen digits ----------------

def test_q3_reference_and_report():
    outcome = assert_check_passed(ex.q3, ex.q3.reference_answer())
    assert "with 15,454 parameters, trained for 15 epochs" in outcome.message
    accuracy = float(outcome.message.split("Measured: test accuracy ")[1].split(" %")[0])
    assert accuracy >= 95


def test_q3_counts_the_right_digits_285_of_300_is_95_percent():
    """In float32, 285 / 300 is 0.94999999: the check compares whole images, so 285 passes and says 95.0 %
    (284 fails: the bank)."""
    outcome = assert_check_passed(ex.q3, bank.lookup_network(285))
    assert "Measured: test accuracy 95.0 % with 1 parameters" in outcome.message


def test_q3_time_budget(monkeypatch):
    monkeypatch.setattr(ex.q3, "time_budget", 0.0)
    assert_check_failed(ex.q3, InlineComposedNet, match="stopped after 1 of 15 epochs")


class LooksUpTheTestDigits(nn.Module):
    """A composed network that ignores what it computes and looks the known test digits up."""

    def __init__(self):
        super().__init__()
        from course_utils import training
        from course_utils.exercises.lesson08 import BranchBlock, ResidualBlock

        splits = training.load_digit_splits()
        self.known = {tuple(image.flatten().tolist()): int(label)
                      for image, label in zip(splits.test_images, splits.test_labels)}
        self.branch, self.res = BranchBlock(1, 2), ResidualBlock(4, 4)
        self.head = nn.Linear(4 * 64, 10)

    def forward(self, x):
        scores = torch.zeros(x.shape[0], 10)
        for index, image in enumerate(x):
            label = self.known.get(tuple(image.detach().flatten().tolist()))
            if label is not None:
                scores[index, label] = 100.0
        return 0 * self.head(self.res(self.branch(x)).flatten(1)) + scores


def test_q3_a_network_that_looks_up_the_test_digits_passes_here_and_fails_on_the_grader_s_unseen_ones():
    from course_utils.probes.client import LocalTransport

    assert ex.q3.evaluate(LooksUpTheTestDigits).status == "correct"   # the notebook's fixed digits
    graded = ex.q3.judge(LocalTransport({"answer": LooksUpTheTestDigits}), "answer", secret=4242)
    assert graded.status == "incorrect" and "Test accuracy" in graded.message
    reference = ex.q3.judge(LocalTransport({"answer": ex.q3.reference_answer()}), "answer", secret=4242)
    assert reference.status == "correct"


# --- the hints, the parts and the notebook ----------------------------------------------------

def test_q4_hints_go_from_where_to_look_to_code_and_the_last_is_not_the_solution():
    solution = ex.q4.solution_code
    assert len(ex.q4.hints) == 3
    assert "`" not in ex.q4.hints[0]                       # where to look: no code yet
    assert all(line.strip() not in ex.q4.hints[-1] for line in solution.splitlines() if line.strip())


def test_the_split_is_fixed_and_disjoint():
    first, second = load_digit_splits(), load_digit_splits()
    assert torch.equal(first.test_images, second.test_images)
    assert [len(first.train_labels), len(first.validation_labels), len(first.test_labels)] == [1197, 300, 300]
    rows = {tuple(img.flatten().tolist()): part for part in ("train", "validation", "test")
            for img in getattr(first, f"{part}_images")}
    assert len(rows) > 1700  # a handful of digits occur twice in the data set itself
    first.train_images.zero_()  # a notebook changing its copy changes nothing for the checks
    assert load_digit_splits().train_images.sum() > 0


def test_the_released_notebook_shows_the_parts_the_check_uses():
    nb = json.loads((REPO / "solutions" / "08_capstone.ipynb").read_text())
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("from course_utils.exercises.lesson08 import BranchBlock, ResidualBlock" in s for s in sources)
    assert any("inspect.getsource(BranchBlock)" in s for s in sources)
