"""The instructor's process: ``python -m course_utils.grade`` (``__main__``, ``runner``).

Collects submissions, validates and prepares them (check cells restored from the release),
runs one pytest over the scratch copies (``execute``), reads the typed records back, and writes
the gradebook, feedback, report and exports. It never runs student code and never imports
anything from the submissions folder.
"""
