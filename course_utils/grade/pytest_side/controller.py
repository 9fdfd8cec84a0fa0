"""The grading plugin's controller side: collects the records the workers send, writes them to
the records file for the instructor command and, for ``--gradebook``, builds the gradebook.

Registered by ``plugin.pytest_configure`` in the process that collects (pytest-xdist's
controller, or the only process), holding its config: no module global.
"""

from __future__ import annotations

import json
from pathlib import Path

from course_utils.grade import records
from course_utils.grade.command import gradebook
from course_utils.grade.contract import Fault
from course_utils.grade.records import Note

PROPERTY = "course_grading"   # the name of the user property a record travels under


class Controller:
    """Hooks of the process that collects records (pytest-xdist's controller, or the only
    process): registered in ``pytest_configure``, holding its config, so no module global."""

    def __init__(self, config):
        self.config = config
        from course_utils.grade.pytest_side.plugin import STATE

        self.state = config.stash[STATE]

    def pytest_runtest_logreport(self, report):
        option = self.config.option
        if report.when == "teardown" and option.grading_progress:
            with open(option.grading_progress, "a") as handle:
                handle.write(".")
        for name, data in report.user_properties:
            if name == PROPERTY:
                self._collect(data)

    def pytest_collectreport(self, report):
        path = Path(report.nodeid.split("::")[0])
        if report.failed and path.suffix == ".ipynb":
            self._collect(records.to_wire(Note(path.parent.name, f"{path.name}: could not be "
                                               "read as a notebook", path.stem, failed_to_run=True,
                                               fault=Fault.UNREADABLE)))

    def _collect(self, data: dict) -> None:
        self.state.collected.append(records.from_wire(data))
        if self.config.option.grading_records:
            with open(self.config.option.grading_records, "a") as handle:
                handle.write(json.dumps(data) + "\n")

    def pytest_sessionfinish(self, session):
        if not self.config.option.gradebook:
            return
        rows: dict = {}
        for record in self.state.collected:
            gradebook.add(rows, record)
        book = gradebook.build(rows)
        path = Path(self.config.option.gradebook)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            path.write_text(json.dumps(book, indent=1, sort_keys=True) + "\n")
        else:
            gradebook.write_csv(book, path)
