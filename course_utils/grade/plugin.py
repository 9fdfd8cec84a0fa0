"""pytest plugin that turns nbval results of check cells into a gradebook (work in progress)."""


def pytest_addoption(parser):
    group = parser.getgroup("course grading")
    group.addoption("--gradebook", default=None, metavar="PATH",
                    help="write points per exercise of every notebook to this CSV file")
