"""Shared test configuration.

Notebook files are collected by nbval only from notebooks/ and solutions/ (the Makefile names
them); fixture notebooks under tests/fixtures/ are inputs of tests, never tests themselves.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

collect_ignore_glob = ["fixtures/*", "fixtures/**/*"]


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (tests/golden/) from the current output instead of comparing")


@pytest.fixture
def update_golden(request) -> bool:
    return request.config.getoption("--update-golden")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
