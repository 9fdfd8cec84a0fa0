"""Grading: ``python -m course_utils.grade SUBMISSIONS --out DIR`` and the pytest plugin."""
