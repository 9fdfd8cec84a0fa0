"""Incremental regrading: the records of a notebook already graded, found by content.

Why by content and not by file times: a regrade must give exactly what a fresh run gives, so an
entry may be reused only when nothing that decides the verdict has changed. The key is a hash
of the notebook (the runner passes the file the student uploaded, and its name), the
release notebook, the student (records name the student), the source files of the installed
``course_utils`` (a fixed check changes every key, even under the same version number), the
versions of the libraries that run the checks, and any grading settings the caller passes
(time-out, memory cap, sandbox: a notebook that timed out at 5 s may pass at 30 s).

The interface is pure on purpose: :func:`notebook_key` computes a key, :func:`lookup` returns
the stored records or ``None``, :func:`store` writes them. The cache never decides anything: an
entry that is unreadable, truncated, edited, written by another format or filed under another
key is ignored (``None``), so the worst a damaged cache can cost is a regrade.

Layout: ``CACHE/ab/abcdef....json``, one file per graded notebook, each written atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from course_utils.grade.contract import fault_of

FORMAT = "course-grading-cache/1"
KEY_LENGTH = 64
# Libraries whose version can change a verdict; their versions are part of every key.
# nbformat too: the key holds the uploaded file, and nbformat reads (and upgrades) it.
VERDICT_LIBRARIES = ("torch", "numpy", "nbformat", "nbval", "nbclient", "ipykernel",
                     "jupyter_client")
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def _digest_of(content) -> str:
    """SHA-256 of a notebook given as bytes, text, a file path or a (NotebookNode) mapping.

    A mapping is hashed as canonical JSON, so the same notebook object gives the same key
    whatever nbformat would write; a path is hashed as the bytes on disk."""
    if isinstance(content, Path):
        data = content.read_bytes()
    elif isinstance(content, bytes):
        data = content
    elif isinstance(content, str):
        data = content.encode("utf-8", "surrogatepass")
    elif isinstance(content, Mapping):
        data = json.dumps(content, sort_keys=True, ensure_ascii=True,
                          separators=(",", ":")).encode()
    else:
        raise TypeError(f"cannot hash a {type(content).__name__} as a notebook")
    return hashlib.sha256(data).hexdigest()


def tree_fingerprint(root: Path) -> str:
    """SHA-256 over the paths and contents of every file under ``root`` (byte code skipped)."""
    root = Path(root)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in _SKIPPED_SUFFIXES:
            continue
        relative = path.relative_to(root).as_posix().encode("utf-8", "surrogatepass")
        digest.update(len(relative).to_bytes(8, "big") + relative)
        data = path.read_bytes()
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def fingerprinted_folders() -> list[Path]:
    """What the checks are made of: the installed ``course_utils`` and the solutions package
    its references come from (where installed)."""
    import importlib.util

    import course_utils

    folders = [Path(course_utils.__file__).resolve().parent]
    spec = importlib.util.find_spec("course_solutions")
    folders += [Path(p).resolve() for p in (spec.submodule_search_locations or [])] if spec else []
    return folders


@lru_cache(maxsize=None)
def course_utils_fingerprint() -> str:
    """The fingerprint of the installed ``course_utils`` and ``course_solutions``, source and
    data files.

    File contents, not the version string: a fix in a check or a reference changes every key
    even when nobody bumped the version. Computed once per process (about 100 small files)."""
    return hashlib.sha256("".join(tree_fingerprint(f) for f in fingerprinted_folders()).encode()).hexdigest()


@lru_cache(maxsize=None)
def environment_fingerprint() -> str:
    """Python's version and the versions of the libraries that run and judge the checks."""
    parts = [f"python={sys.version_info[:3]}"]
    for name in VERDICT_LIBRARIES:
        try:
            parts.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}=absent")
    return ";".join(parts)


def notebook_key(student: str, prepared, release, settings: Mapping | None = None) -> str:
    """The cache key of one prepared notebook (hex SHA-256).

    ``prepared`` and ``release`` are the notebooks (path, bytes, text or mapping);
    ``settings`` holds whatever else changes a verdict in this run (JSON-ready values), e.g.
    ``{"timeout": 30, "memory_mb": 2048, "sandbox": True}``."""
    return _key({
        "format": FORMAT,
        "student": student.encode("utf-8", "surrogatepass").hex(),
        "prepared": _digest_of(prepared),
        "release": _digest_of(release),
        "course_utils": course_utils_fingerprint(),
        "environment": environment_fingerprint(),
        "settings": dict(settings or {}),
    })


def catalog_key(release_paths) -> str:
    """The key of what the grader reads from the exercise modules for the release (titles,
    hints): it changes with ``course_utils`` and with any release notebook."""
    return _key({"format": FORMAT, "catalog": sorted(_digest_of(Path(p)) for p in release_paths),
                 "course_utils": course_utils_fingerprint()})


def _key(parts: dict) -> str:
    text = json.dumps(parts, sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _path(cache_dir: Path, key: str) -> Path:
    if not (isinstance(key, str) and len(key) == KEY_LENGTH
            and all(c in "0123456789abcdef" for c in key)):
        raise ValueError(f"not a cache key: {key!r}")
    return Path(cache_dir) / key[:2] / f"{key}.json"


def _is_plain_json(value, depth: int = 0) -> bool:
    """True for what ``json`` writes and reads back unchanged (no NaN, no non-string keys)."""
    if depth > 20:
        return False
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_plain_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain_json(v, depth + 1) for k, v in value.items())
    return False


def _records_digest(records: list) -> str:
    text = json.dumps(records, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def valid_records(records) -> bool:
    """The shape every entry must have: a list of dicts of plain JSON values."""
    return (isinstance(records, list) and all(isinstance(r, dict) for r in records)
            and _is_plain_json(records))


def lookup(cache_dir: Path, key: str) -> list[dict] | None:
    """The records stored under ``key``, or ``None`` when there is no trustworthy entry.

    Never raises for a damaged or foreign entry: it is ignored (and overwritten by the next
    :func:`store`)."""
    try:
        path = _path(cache_dir, key)
        entry = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not (isinstance(entry, dict) and entry.get("format") == FORMAT
            and entry.get("key") == key and valid_records(entry.get("records"))):
        return None
    if entry.get("digest") != _records_digest(entry["records"]):
        return None
    return entry["records"]


def store(cache_dir: Path, key: str, records: list[dict]) -> Path:
    """Write ``records`` under ``key`` (atomically: a reader sees the old entry or the new).

    Raises ``ValueError`` for records that are not a list of JSON-ready dicts, so nothing is
    stored that :func:`lookup` would refuse."""
    path = _path(cache_dir, key)
    records = list(records)
    if not valid_records(records):
        raise ValueError("cache records must be a list of dicts of plain JSON values")
    entry = {"format": FORMAT, "key": key, "digest": _records_digest(records),
             "records": records}
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(entry, out, sort_keys=True, ensure_ascii=True)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def worth_keeping(records: list[dict], expected_exercises=()) -> bool:
    """Whether a notebook's records may be stored: the run went through to the end.

    A verdict on the student's code is kept, faults included: an endless loop times out
    again on every run, and rerunning it each time would cost more than all the unchanged
    notebooks together (the time-out and memory cap are part of the key). Not kept: a run
    that lacks a record for one of ``expected_exercises`` (it stopped early) or with a fault
    that blames the grader (a kernel that could not start or be restored), so those notebooks
    run again next time."""
    if not valid_records(records):
        return False
    recorded = {r.get("exercise") for r in records}
    if any(exercise not in recorded for exercise in expected_exercises):
        return False
    return not any(fault is not None and fault.blames_the_grader
                   for fault in (fault_of(r.get("fault")) for r in records))


def prune(cache_dir: Path, keep: set[str]) -> int:
    """Delete every entry whose key is not in ``keep`` (e.g. the keys of this run); returns
    how many went. Files that are not entries of this cache are left alone."""
    removed = 0
    root = Path(cache_dir)
    if not root.is_dir():
        return 0
    for path in root.glob("??/*.json"):
        if path.stem not in keep and len(path.stem) == KEY_LENGTH and path.parent.name == path.stem[:2]:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
