"""``python -m course_utils COMMAND ...``: the course's instructor commands under one name.

Each command is the module that does the work, under a shorter name; its arguments and its
``--help`` are that module's own, so the two spellings never drift apart:

    python -m course_utils release [--check]                 = python -m course_utils.exercises.release
    python -m course_utils release-graded FOLDER [...]       = ... .exercises.release --graded FOLDER [...]
    python -m course_utils publish-solutions FOLDER          = ... .exercises.release --publish-solutions FOLDER
    python -m course_utils grade SUBMISSIONS --out DIR [...] = python -m course_utils.grade ...
    python -m course_utils notebooks ...                     = python -m course_utils.notebooks ...

Only the standard library is imported before a command is chosen, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

PROG = "python -m course_utils"


@dataclass(frozen=True)
class Command:
    """One subcommand: what it does (for --help) and the module whose ``main(argv)`` runs it."""

    summary: str
    module: str


COMMANDS = {
    "release": Command("regenerate exercises/ from solutions/ (the self-study release); --check only compares",
                       "course_utils.exercises.release"),
    "release-graded": Command("write the graded release (exercise notebooks and a wheel without solutions) "
                              "into FOLDER; docs/graded_course.md", "course_utils.exercises.release"),
    "publish-solutions": Command("after the deadline: write the solution notebooks and the self-study wheel "
                                 "into FOLDER", "course_utils.exercises.release"),
    "grade": Command("grade a folder of submissions (and 'grade merge' joins shards); docs/grading.md",
                     "course_utils.grade.__main__"),
    "notebooks": Command("refresh or check the course's notebooks, measure their stability",
                         "course_utils.notebooks"),
}


def _graded_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROG} release-graded",
                                     description=COMMANDS["release-graded"].summary)
    parser.add_argument("folder", metavar="FOLDER", help="where to write it (a new folder, or an older graded release)")
    parser.add_argument("--solutions-published", metavar="WHEN",
                        help='when the solutions come out, as solution() tells students ("on 14 March")')
    parser.add_argument("--summary", metavar="FILE",
                        help="also write the build's figures (what was recorded, from which tests) as JSON")
    return parser


def _publish_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROG} publish-solutions",
                                     description=COMMANDS["publish-solutions"].summary)
    parser.add_argument("folder", metavar="FOLDER")
    return parser


def translated(name: str, argv: list[str]) -> list[str]:
    """The arguments the module's own command line takes for ``name``'s arguments ``argv``."""
    if name == "release-graded":
        args = _graded_parser().parse_args(argv)
        return ["--graded", args.folder,
                *(["--solutions-published", args.solutions_published] if args.solutions_published else []),
                *(["--summary", args.summary] if args.summary else [])]
    if name == "publish-solutions":
        return ["--publish-solutions", _publish_parser().parse_args(argv).folder]
    return argv


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"usage: {PROG} COMMAND [ARGS ...]", "",
             "The course's instructor commands (each takes --help):", ""]
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    lines += ["", "Examples:",
              f"  {PROG} release-graded build/graded-release --solutions-published 'on 14 March'",
              f"  {PROG} grade SUBMISSIONS --out results --workers 2",
              f"  {PROG} publish-solutions build/solutions"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    command = COMMANDS.get(name)
    if command is None:
        print(f"{PROG}: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    run: Callable[[list[str]], int] = import_module(command.module).main
    return run(translated(name, rest)) or 0


if __name__ == "__main__":
    sys.exit(main())
