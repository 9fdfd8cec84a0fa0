"""The instructor's side of the exercises: one module per lesson, ``qN = '''...'''`` each.

``course_utils.exercises`` holds what a student may see (titles, hints, checks written against
probes); the solutions live here, apart, so that a grading kernel, which sees the installed
``course_utils`` read-only, has nothing to steal: the sandbox hides this package
(``course_utils.grade.launcher.sandbox.solution_paths``), and the graded release leaves it out.
"""
