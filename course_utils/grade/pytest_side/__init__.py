"""The pytest process (and each pytest-xdist worker): the grading plugin, where verdicts are
decided. It runs each notebook's cells in that notebook's kernel, and after each check cell
runs the exercise's check here (``verdicts``, ``judge``), against the answer in the kernel,
through probes. It never runs student code: it only sends cells and probes to the kernel and
judges plain-data replies.
"""
