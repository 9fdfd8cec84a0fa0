"""Grading: ``python -m course_utils.grade SUBMISSIONS --out DIR`` and the pytest plugin."""

import sys

# Every grading process (the command, pytest, each of its workers) imports nbformat, which
# imports jsonschema, which imports rfc3987_syntax when it is installed (jupyter-events asks
# for it), and that builds a parser for a whole second. nbformat's schemas use no format it
# checks, so grading processes go without it; jsonschema is built to run without it.
sys.modules.setdefault("rfc3987_syntax", None)
