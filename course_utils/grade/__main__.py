"""The instructor command.

    python -m course_utils.grade SUBMISSIONS --out DIR [--workers N] [--timeout S]
                                 [--shard K/N] [--release exercises/] [--memory-mb M]
    python -m course_utils.grade merge DIR1 DIR2 ... --out DIR

SUBMISSIONS holds one folder per student with any of the exercise notebooks. DIR receives
``gradebook.csv``, ``gradebook.json``, ``feedback/<student>.md``, ``report.html``,
``pytest.log`` and the cache ``.cache/``. Exit status 2, and no gradebook, when grading itself
failed (see ``errors.GradingError``).
``--shard K/N`` grades only the students of shard K of N (a stable hash of the folder name),
so N batch jobs can grade a large course and ``merge`` joins their DIRs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from course_utils.grade import contract
from course_utils.grade.command import exports, feedback, gradebook, prepare, report
from course_utils.grade.launcher import sandbox
from course_utils.grade.command.runner import GradingError, Settings, grade

DEFAULT_RELEASE = Path(__file__).resolve().parents[2] / "exercises"


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError("use K/N, e.g. 2/8") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError("K must be between 1 and N")
    return index, count


def grade_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade",
                                     description="Grade a folder of exercise submissions.")
    parser.add_argument("submissions", type=Path, help="one folder per student")
    parser.add_argument("--out", type=Path, required=True, help="where results are written")
    parser.add_argument("--release", type=Path, default=DEFAULT_RELEASE,
                        help="the released exercise notebooks (default: exercises/)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="cores to use: pytest-xdist workers, or kernels started at once "
                             "while one notebook runs (see --parallel; default: all cores)")
    parser.add_argument("--parallel", type=contract.Parallel, default=contract.PARALLEL.default,
                        choices=list(contract.Parallel), help=contract.PARALLEL.help)
    parser.add_argument("--timeout", type=float, default=contract.TIMEOUT.default,
                        help=contract.TIMEOUT.help)
    parser.add_argument("--shard", type=_shard, default=(1, 1), metavar="K/N",
                        help="grade only shard K of N (students split by a hash of their folder "
                             "name); join the shards' results with the merge command")
    parser.add_argument("--memory-mb", type=int, default=contract.MEMORY_MB.default,
                        help="resident memory per notebook, everything it starts included")
    parser.add_argument("--notebook-timeout", type=float, default=contract.NOTEBOOK_TIMEOUT.default,
                        help="seconds one notebook may take in all (default: 10 minutes)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="grade where bubblewrap cannot run (macOS, a container without user "
                             "namespaces): student code then runs as you; every row says so")
    parser.add_argument("--export", action="append", default=[], choices=exports.KINDS,
                        help="also write OUT/canvas.csv or OUT/moodle.csv (repeat for both)")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore results cached in OUT/.cache and grade every notebook again")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--keep-scratch", action="store_true",
                        help="keep the prepared notebooks (to debug the grader)")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    settings = Settings(args.submissions, args.out, args.release, workers=args.workers,
                        parallel=args.parallel,
                        timeout=args.timeout, shard=args.shard, memory_mb=args.memory_mb,
                        notebook_timeout=args.notebook_timeout, sandbox=not args.no_sandbox,
                        progress=not args.no_progress, keep_scratch=args.keep_scratch,
                        fresh=args.fresh)
    report.warm_up()
    source = sandbox.uncompiled("torch")
    if source:
        print(f"note: torch has no compiled bytecode ({source}): every grading kernel compiles "
              "it again, about 1.5 s per notebook; compile it once with: "
              f"{sys.executable} -m compileall -q {Path(source).parents[1]}", file=sys.stderr)
    try:
        graded = grade(settings)
    except GradingError as error:
        print(f"grading failed, no gradebook written: {error}", file=sys.stderr)
        return 2
    page = write_results(graded.book, args.out, prepare.load_release(args.release), args.export,
                         graded.catalog)
    print(summary(graded.book))
    print(f"notebooks run: {graded.ran}, reused from the cache: {graded.reused}")
    print(f"report: {page}")
    return 0


def write_results(book: dict, out: Path, releases, export_kinds=(), catalog=None) -> Path:
    """Gradebook, feedback, exports, and last the report (its links point at the feedback)."""
    gradebook.write(book, out)
    feedback.write_all(book, feedback.exercise_info(releases, out / ".cache", catalog),
                       out / "feedback")
    for kind in export_kinds:
        exports.write_export(book, out, kind)
    return report.write_report(book, out)


def summary(book: dict) -> str:
    rows = book["students"]
    failed = [r["student"] for r in rows if r["failed_to_run"]]
    flagged = [r["student"] for r in rows if r["flagged"]]
    lines = [f"graded: {len(rows)} students, maximum {book['maximum']} points",
             f"failed to run (at least one notebook or cell): {len(failed)}"
             + (f" ({', '.join(failed[:10])}{', ...' if len(failed) > 10 else ''})" if failed else ""),
             f"flagged (check cells changed): {len(flagged)}"
             + (f" ({', '.join(flagged[:10])}{', ...' if len(flagged) > 10 else ''})" if flagged else "")]
    return "\n".join(lines)


def merge_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.grade merge",
                                     description="Join the result folders of shards.")
    parser.add_argument("parts", type=Path, nargs="+", help="result folders of the shards")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--export", action="append", default=[], choices=exports.KINDS)
    args = parser.parse_args(argv)
    book = gradebook.merge([gradebook.read(part) for part in args.parts])
    gradebook.write(book, args.out)
    for part in args.parts:
        if (part / "feedback").is_dir():
            shutil.copytree(part / "feedback", args.out / "feedback", dirs_exist_ok=True)
    for kind in args.export:
        exports.write_export(book, args.out, kind)
    print(summary(book))
    print(f"report: {report.write_report(book, args.out)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "merge":
        return merge_main(argv[1:])
    return grade_main(argv)


if __name__ == "__main__":
    sys.exit(main())
