"""Are the stored outputs stable? Run notebooks again and again and report what nbval would fail.

    python -m course_utils.notebooks stability --runs 20 --variants [NOTEBOOK ...]

Each run executes a notebook in a fresh kernel (nbclient) and compares every code cell's new
outputs with the stored ones exactly as ``pytest --nbval --nbval-sanitize-with
tests/nbval_sanitize.cfg`` does: the same cell options (tags ``nbval-ignore-output``,
``nbval-skip``, ``raises-exception`` and nbval's comment markers), the same sanitize rules,
streams joined the same way, the same output fields left out (PNG images, metadata,
tracebacks, widget views). A cell is reported when its compared output differs in any run, or
when it raises where nbval would fail it.

Float sums differ with the CPU and with the code path MKL, oneDNN and ATen choose, and training
amplifies the difference. One machine can try other paths through environment variables that
those libraries read when the kernel starts: ``VARIANTS`` ("plain" sets none of them).
``--variants`` spreads the runs over all of them (run k uses variant k mod 3); ``--variant
NAME`` picks some.
"""

from __future__ import annotations

import copy
import difflib
import os
import re
import subprocess
import sys
import time
import warnings
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SANITIZE_FILE = ROOT / "tests" / "nbval_sanitize.cfg"
STORED_FOLDERS = ("notebooks", "solutions")   # exercises/ are stored without outputs
CELL_TIMEOUT = 300                            # the Makefile's --nbval-cell-timeout
TIMEOUT = "CellTimeoutError"                  # the error a run records in a cell that timed out

# Environment of the kernel for each numeric code path. "compatible" is what `make test`'s
# second pass uses: MKL's conditional-numerical-reproducibility mode, ATen's kernels without
# AVX2/AVX-512 and oneDNN capped at AVX2. "mkl-avx2" changes MKL alone.
VARIANTS: dict[str, dict[str, str]] = {
    "plain": {},
    "compatible": {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "AVX2"},
    "mkl-avx2": {"MKL_CBWR": "AVX2"},
}
NUMERIC_VARIABLES = sorted({name for env in VARIANTS.values() for name in env})

# nbval (without --nbdime) compares every output field except these
SKIP_COMPARE = ("metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg")


def stored_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks whose stored outputs nbval compares: notebooks/ and solutions/."""
    return sorted(p for folder in STORED_FOLDERS for p in (root / folder).glob("*.ipynb"))


def sanitize_patterns(path: Path = SANITIZE_FILE) -> OrderedDict:
    """regex -> replacement, read the way nbval reads ``--nbval-sanitize-with``."""
    from nbval.plugin import get_sanitize_patterns

    return OrderedDict(get_sanitize_patterns(Path(path).read_text()))


def cell_options(cell) -> dict:
    """nbval's options of a code cell: ``check`` (compare outputs), ``skip``, ``check_exception``.

    Tags first, then comment markers in the source (which win), then ``check`` defaults to
    True, as under ``--nbval``.
    """
    from nbval.plugin import find_comment_markers, find_metadata_tags

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbval warns about conflicting markers; it still decides
        options = defaultdict(bool, find_metadata_tags(cell.metadata))
        options.update(dict(find_comment_markers(cell.source)))
    options.setdefault("check", True)
    return options


def _sanitize(value, patterns):
    if not isinstance(value, str):
        return value
    for regex, replace in patterns.items():
        value = re.sub(regex, replace, value)
    return value


def _flatten(outputs, patterns) -> dict[str, list]:
    """nbval's view of a cell's outputs: field (a MIME type, "stdout", "ename", ...) -> values."""
    from nbval.plugin import coalesce_streams, transform_streams_for_comparison

    outputs = [nbformat.from_dict(copy.deepcopy(dict(o))) for o in outputs]
    flat: dict[str, list] = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(outputs)):
        for key, value in output.items():
            if key in SKIP_COMPARE:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIP_COMPARE:
                        flat[mime].append(_sanitize(data, patterns))
            else:
                flat[key].append(_sanitize(value, patterns))
    return flat


def compare_outputs(new, stored, patterns=None) -> str | None:
    """None when nbval would accept ``new`` for a cell that stored ``stored``; else what differs."""
    patterns = sanitize_patterns() if patterns is None else patterns
    got, want = _flatten(new, patterns), _flatten(stored, patterns)
    if set(want) - set(got):
        return f"missing output fields: {', '.join(sorted(set(want) - set(got)))}"
    if set(got) - set(want):
        return f"unexpected output fields: {', '.join(sorted(set(got) - set(want)))}"
    for key, stored_values in want.items():
        new_values = got[key]
        if len(new_values) != len(stored_values):
            return f"{key}: {len(new_values)} outputs instead of {len(stored_values)}"
        for old, value in zip(stored_values, new_values):
            if old != value:
                return f"{key}:\n{_diff(old, value)}"
    return None


def _diff(old, new, limit: int = 12) -> str:
    if not (isinstance(old, str) and isinstance(new, str)):
        return f"- {old!r}\n+ {new!r}"
    lines = [line for line in difflib.ndiff(old.splitlines(), new.splitlines())
             if line.startswith(("- ", "+ "))]
    shown = [line if len(line) <= 160 else line[:157] + "..." for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"... {len(lines) - limit} more changed lines")
    return "\n".join(shown)


@dataclass
class CellDifference:
    """One code cell whose run would fail under nbval."""

    path: str
    cell: int          # nbval's number: the code cell's index, from 0 ("Cell 12")
    cell_id: str
    what: str          # what differs, or what went wrong

    @property
    def name(self) -> str:
        return f"{self.path} Cell {self.cell} (id {self.cell_id})"


def differences(path, stored, executed, patterns=None) -> list[CellDifference]:
    """The cells of ``executed`` (a run of ``stored``) that nbval would fail, in order.

    ``executed`` holds the new outputs of every code cell (None for a cell that was not run:
    skipped, or after a timeout); a cell that raised or timed out has its error among its
    outputs.
    """
    patterns = sanitize_patterns() if patterns is None else patterns
    found = []
    code = [(c, e) for c, e in zip(stored.cells, executed.cells) if c.cell_type == "code"]
    for number, (cell, run) in enumerate(code):
        options = cell_options(cell)
        if options["skip"]:
            continue
        if run.get("outputs") is None:  # after a timeout: nbval expects these to fail (xfail)
            continue
        errors = [o for o in run.outputs if o.get("output_type") == "error"]
        if any(e.get("ename") == TIMEOUT for e in errors):
            found.append(CellDifference(str(path), number, cell.get("id", ""), f"timed out ({CELL_TIMEOUT} s)"))
            continue
        if errors and not options["check_exception"]:
            found.append(CellDifference(str(path), number, cell.get("id", ""),
                                        f"raised {errors[0].get('ename')}: {errors[0].get('evalue')}"))
            continue
        if cell.execution_count is None:
            if cell.outputs:
                found.append(CellDifference(str(path), number, cell.get("id", ""), "unrun reference cell has outputs"))
            continue
        if options["check"]:
            what = compare_outputs(run.outputs, cell.outputs, patterns)
            if what is not None:
                found.append(CellDifference(str(path), number, cell.get("id", ""), what))
    return found


def _client_class():
    """nbclient, made to record outputs the way nbval does: every display, stream and error in
    the cell, in order; clear_output, display updates and Output widgets change nothing."""
    from nbclient import NotebookClient

    class RecordingClient(NotebookClient):
        def clear_output(self, outs, msg, cell_index):
            return None

        def _update_display_id(self, display_id, msg):
            return None

        def on_comm_open_jupyter_widget(self, msg):
            return None

    return RecordingClient


def variant_environment(variant: str) -> dict[str, str]:
    """This process's environment with exactly the numeric variables of ``variant`` set
    ("plain": none of them, whatever the shell exported)."""
    env = {name: value for name, value in os.environ.items() if name not in NUMERIC_VARIABLES}
    return {**env, **VARIANTS[variant]}


def run_notebook(path: Path, env: dict[str, str] | None = None, timeout: int = CELL_TIMEOUT):
    """Execute a copy of ``path`` in a fresh kernel; return it with the new outputs.

    The kernel starts in the notebook's folder with the environment ``env`` (default: this
    one's). Cells nbval skips are not run (their ``outputs`` become None), errors do not stop
    the run, and a timeout leaves the later cells unrun, as under nbval.
    """
    from nbclient.exceptions import CellTimeoutError

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = None
    client = _client_class()(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                             record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    # the kernel process's own stderr (ipykernel's start-up notices) is not a cell output
    with client.setup_kernel(env=dict(os.environ if env is None else env), cwd=str(path.parent),
                             stderr=subprocess.DEVNULL):
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or cell_options(cell)["skip"]:
                continue
            cell.outputs = []
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except CellTimeoutError:
                cell.outputs.append(nbformat.v4.new_output("error", ename=TIMEOUT, evalue="", traceback=[]))
                break
    return nb


def check_notebook(path: Path, variant: str = "plain", patterns=None) -> list[CellDifference]:
    """One run of ``path`` under ``variant``: the cells nbval would fail."""
    path = Path(path)
    stored = nbformat.read(path, as_version=4)
    executed = run_notebook(path, variant_environment(variant))
    return differences(_shown(path), stored, executed, patterns)


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _job(path: str, run: int, variant: str, patterns) -> tuple[str, int, str, list[CellDifference], float, str]:
    start = time.perf_counter()
    try:
        found, failure = check_notebook(Path(path), variant, patterns), ""
    except Exception as error:  # noqa: BLE001 - a kernel that dies or will not start: report it
        found, failure = [], f"{type(error).__name__}: {str(error).strip().splitlines()[-1] if str(error).strip() else ''}"
    return path, run, variant, found, time.perf_counter() - start, failure


def plan(runs: int, variants: list[str]) -> list[str]:
    """The variant of each run: the variants in turn."""
    return [variants[k % len(variants)] for k in range(runs)]


def stability(paths: list[Path], runs: int = 1, variants: list[str] | None = None, workers: int = 1,
              out=None) -> int:
    """Run each notebook ``runs`` times and print every cell that ever differed; the count.

    Prints one line per notebook run as it finishes, then the report. Returns the number of
    differing cells plus the number of runs that could not finish (0: all stable).
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import multiprocessing

    out = out or sys.stdout
    variants = variants or ["plain"]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant {unknown[0]!r}; choose from {', '.join(VARIANTS)}")
    patterns = sanitize_patterns()
    schedule = plan(runs, variants)
    jobs = [(str(path), run, variant) for run, variant in enumerate(schedule, start=1) for path in paths]
    per_variant = ", ".join(f"{v} {schedule.count(v)}" for v in variants if schedule.count(v))
    print(f"stability: {len(paths)} notebooks x {runs} runs ({per_variant}), {workers} worker(s)",
          file=out, flush=True)
    seen: dict[tuple[str, int], dict] = {}
    failures = []
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # no zmq state shared with a forked parent
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(_job, path, run, variant, patterns) for path, run, variant in jobs]
        for done, future in enumerate(as_completed(futures), start=1):
            path, run, variant, found, seconds, failure = future.result()
            status = failure or (f"{len(found)} differing cell(s)" if found else "same")
            print(f"[{done}/{len(jobs)}] run {run} {variant:10} {_shown(Path(path))}: {status} ({seconds:.0f} s)",
                  file=out, flush=True)
            if failure:
                failures.append(f"{_shown(Path(path))} run {run} ({variant}): {failure}")
            for difference in found:
                entry = seen.setdefault((difference.path, difference.cell), {
                    "first": difference, "first_run": (run, variant), "runs": defaultdict(int)})
                entry["runs"][variant] += 1
    print(f"\n{len(jobs)} notebook runs in {time.perf_counter() - start:.0f} s", file=out)
    for (path, cell), entry in sorted(seen.items()):
        first, (run, variant) = entry["first"], entry["first_run"]
        total = sum(entry["runs"].values())
        counts = ", ".join(f"{v} {n}" for v, n in entry["runs"].items())
        print(f"\n{first.name}: differs in {total} of {runs} runs ({counts})", file=out)
        print(f"  first in run {run} ({variant}): " + first.what.replace("\n", "\n    "), file=out)
    for failure in failures:
        print(f"could not run: {failure}", file=out)
    print(f"\n{len(seen)} differing cell(s)" + (f", {len(failures)} run(s) failed" if failures else ""),
          file=out, flush=True)
    return len(seen) + len(failures)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_utils.notebooks stability", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, help="default: notebooks/ and solutions/")
    parser.add_argument("--runs", type=int, default=1, help="runs of each notebook (default 1)")
    parser.add_argument("--variants", action="store_true", help=f"spread the runs over {', '.join(VARIANTS)}")
    parser.add_argument("--variant", action="append", choices=list(VARIANTS), default=None,
                        help="run under this variant (repeat to alternate); default plain")
    parser.add_argument("--workers", type=int, default=1, help="notebooks run at the same time (default 1)")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.workers < 1:
        parser.error("--runs and --workers must be at least 1")
    variants = list(VARIANTS) if args.variants else args.variant
    found = stability(args.paths or stored_notebooks(), args.runs, variants, args.workers)
    return 1 if found else 0
