"""Inside the sandbox: the grading kernel, the one process where student code runs. It runs
the notebook's cells and answers the grader's probes (``course_utils.probes.server``); no
verdict is computed here.
"""
