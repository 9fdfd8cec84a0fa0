"""Grading: ``python -m course_utils.grade SUBMISSIONS --out DIR`` and the pytest plugin.

The folders say which process runs the code, and so which side of the trust boundary it is on:

- ``command/`` (with ``__main__``): the instructor's process; never runs student code.
- ``pytest_side/``: the pytest process(es) that run the notebooks' cells in their kernels and
  decide every verdict here, through probes; never run student code.
- ``launcher/``: one process per kernel, outside the sandbox, that builds and watches it.
- ``kernel_side/``: inside the sandbox, the kernel: the only place student code runs; it
  answers probes and decides nothing.

``contract`` declares what crosses between them (settings with their one default each,
environment names, statuses and faults) and ``records`` the typed records the pytest side
sends the command.
"""

import sys

# Every grading process (the command, pytest, each of its workers) imports nbformat, which
# imports jsonschema, which imports rfc3987_syntax when it is installed (jupyter-events asks
# for it), and that builds a parser for a whole second. nbformat's schemas use no format it
# checks, so grading processes go without it; jsonschema is built to run without it.
sys.modules.setdefault("rfc3987_syntax", None)
