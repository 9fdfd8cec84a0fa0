"""Every code example of the seed documents appears, in order, in the lesson that teaches it.

Why: the course brief promises that each seed example is shown, run and explained in its
lesson. Lessons get edited; without a test an example can quietly vanish or drift from the
seed. The examples are stored verbatim in ``tests/seed_examples/<seed>_<n>.py`` (the repo must
stand alone, so the test never reads the seed documents). Each file starts with a header
naming the seed, the example and the lesson notebook that must contain it::

    # seed 002 · MySequentialStack · lesson notebooks/03_sequential.ipynb

A line of an example is *significant* unless it is blank, a comment or a plain import. Every
significant line must appear, as a whole line and in the example's order, among the code
cells of the lesson (concatenated). Only whitespace may differ; a trailing comment is part of
the line. Lines may be interleaved with other code, so a lesson can split an example across
cells and explain it piece by piece.
"""

from __future__ import annotations

import ast
import json
import re
from collections import Counter
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = ROOT / "tests" / "seed_examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.py"), key=lambda p: [int(n) for n in re.findall(r"\d+", p.stem)])
HEADER = re.compile(r"^# seed (?P<seed>\d{3}) · (?P<what>.+) · lesson (?P<notebook>notebooks/0[1-7]_\w+\.ipynb)$")
IMPORT = re.compile(r"^(import\s+\S|from\s+\S+\s+import\s)")

# Examples per seed: 000, 001, 002, 004 are their fenced ```python blocks; 003 has inline code
# (steps 2, 3, 5, the access by name of step 5, and the wrong/correct pair of three pitfalls).
# Deleting an example file must fail a test, not shrink the check.
EXPECTED_COUNTS = {"000": 3, "001": 3, "002": 3, "003": 10, "004": 3}


# --- the matcher ----------------------------------------------------------------------------
def normalise(line: str) -> str:
    """A line with all whitespace removed: indentation and spacing may differ, nothing else."""
    return "".join(line.split())


def significant_lines(source: str) -> list[tuple[int, str]]:
    """(line number, stripped line) for each line that is not blank, a comment or an import."""
    lines = []
    for number, raw in enumerate(source.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#") and not IMPORT.match(line):
            lines.append((number, line))
    return lines


def match_lines(example: list[tuple[int, str]], code: list[str]) -> list[int | None]:
    """For each example line, the index of the code line it matches, or None if it is missing.

    A longest common subsequence (not a greedy scan), so that one missing line is reported as
    one line instead of derailing the match of every line after it.
    """
    wanted = [normalise(line) for _, line in example]
    have = [normalise(line) for line in code]
    n, m = len(wanted), len(have)
    # best[i][j]: length of the longest in-order match of wanted[i:] within have[j:]
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below = best[i], best[i + 1]
        for j in range(m - 1, -1, -1):
            row[j] = below[j + 1] + 1 if wanted[i] == have[j] else max(below[j], row[j + 1])
    matches: list[int | None] = []
    i = j = 0
    while i < n:
        if j < m and wanted[i] == have[j] and best[i][j] == best[i + 1][j + 1] + 1:
            matches.append(j)
            i, j = i + 1, j + 1
        elif j < m and best[i][j + 1] >= best[i + 1][j]:
            j += 1
        else:
            matches.append(None)
            i += 1
    return matches


def missing_lines(example: list[tuple[int, str]], code: list[str]) -> list[tuple[int, str]]:
    """The example lines (number, text) that are not in the code lines, in order."""
    return [line for line, match in zip(example, match_lines(example, code)) if match is None]


def read_example(path: Path) -> tuple[re.Match, str]:
    text = path.read_text(encoding="utf-8")
    header = HEADER.match(text.splitlines()[0]) if text else None
    assert header, f"{path.name}: the first line must be a header like " \
                   "'# seed 002 · MySequentialStack · lesson notebooks/03_sequential.ipynb'"
    return header, text


@lru_cache(maxsize=None)
def notebook_code_lines(notebook: str) -> tuple[str, ...]:
    """All lines of the notebook's code cells, in order (JSON read directly: fast and exact)."""
    cells = json.loads((ROOT / notebook).read_text(encoding="utf-8"))["cells"]
    lines: list[str] = []
    for cell in cells:
        if cell["cell_type"] == "code":
            source = cell["source"]
            lines.extend(("".join(source) if isinstance(source, list) else source).splitlines())
    return tuple(lines)


# --- the coverage check ---------------------------------------------------------------------
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_seed_example_appears_in_its_lesson(path):
    header, text = read_example(path)
    example = significant_lines(text)
    missing = missing_lines(example, list(notebook_code_lines(header["notebook"])))
    if missing:
        pytest.fail(
            f"seed {header['seed']} · {header['what']}: {len(missing)} of {len(example)} lines are "
            f"not in the code cells of {header['notebook']} (in order):\n"
            + "\n".join(f"  {path.name}:{number}: {line}" for number, line in missing),
            pytrace=False)


def test_every_seed_keeps_its_examples():
    seeds = Counter(read_example(path)[0]["seed"] for path in EXAMPLE_FILES)
    assert dict(seeds) == EXPECTED_COUNTS


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_file_is_named_for_its_seed_and_is_python(path):
    header, text = read_example(path)
    assert path.stem.startswith(header["seed"] + "_"), f"{path.name} holds an example of seed {header['seed']}"
    assert (ROOT / header["notebook"]).is_file(), f"{path.name} names a missing lesson {header['notebook']}"
    ast.parse(text, filename=path.name)
    assert significant_lines(text), f"{path.name} has no significant line to look for"


# --- the matcher can fail -------------------------------------------------------------------
CODE = ["import torch", "class Net(nn.Module):", "    def forward(self, x):",
        "        x = self.fc1(x)  # first", "", "        return x", "print(Net())"]


def test_matcher_accepts_whitespace_differences_and_interleaved_code():
    example = significant_lines("import torch.nn as nn\n\nclass Net( nn.Module ):\n"
                                "  # a comment\n  def forward(self,x):\n    x = self.fc1(x) # first\n"
                                "    return x\n")
    assert [line for _, line in example] == ["class Net( nn.Module ):", "def forward(self,x):",
                                             "x = self.fc1(x) # first", "return x"]
    assert missing_lines(example, CODE) == []


def test_matcher_reports_a_tampered_line_and_only_it():
    example = significant_lines("class Net(nn.Module):\n    def forward(self, x):\n"
                                "        x = self.fc2(x)  # first\n        return x\n")
    assert missing_lines(example, CODE) == [(3, "x = self.fc2(x)  # first")]


def test_matcher_reports_a_changed_trailing_comment():
    example = significant_lines("x = self.fc1(x)  # second\n")
    assert missing_lines(example, CODE) == [(1, "x = self.fc1(x)  # second")]


def test_matcher_requires_the_example_order():
    example = significant_lines("print(Net())\nclass Net(nn.Module):\n")
    assert len(missing_lines(example, CODE)) == 1


def test_matcher_does_not_match_part_of_a_line():
    assert missing_lines(significant_lines("x = self.fc1(x)\n"), CODE) == [(1, "x = self.fc1(x)")]


def test_a_tampered_seed_example_fails_against_its_real_lesson(tmp_path):
    text = (EXAMPLES_DIR / "002_2.py").read_text(encoding="utf-8")
    tampered = text.replace("nn.Linear(hidden_size, output_size)", "nn.Linear(hidden_size, 7)")
    assert tampered != text
    path = tmp_path / "002_2.py"
    path.write_text(tampered, encoding="utf-8")
    with pytest.raises(pytest.fail.Exception) as failure:
        test_seed_example_appears_in_its_lesson(path)
    assert str(failure.value) == (
        "seed 002 · MySequentialStack: 1 of 18 lines are not in the code cells of "
        "notebooks/03_sequential.ipynb (in order):\n"
        "  002_2.py:11: nn.Linear(hidden_size, 7)")
    path.write_text(text, encoding="utf-8")
    test_seed_example_appears_in_its_lesson(path)  # the untampered copy passes
