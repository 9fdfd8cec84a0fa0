"""Stage "collect": from the submissions folder to one typed ``Submission`` per student and lesson.

Nothing is opened or executed here; only names, links and modification times are read. What a
download from a learning platform really holds is decided once, in this module: folder names in
any byte encoding (``unzip`` of a Windows zip), names too long for a feedback file, links a
zip can carry (one pointing at ``solutions/`` must earn nothing), and several files for one
lesson (drafts, ``(1)`` copies, an HTML export). Each case ends in one deterministic choice and
a note naming the files, so the instructor can check the choice and nothing is silently lost.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from course_utils.grade.command.prepare import Release

SKIPPED_NAMES = {".ipynb_checkpoints", "__MACOSX", ".DS_Store", "Thumbs.db", "desktop.ini"}
LESSON = re.compile(r"^([0-9]{2})(?![0-9])")
# 255 bytes is the usual limit of one file name; the feedback file adds ".md", a scratch copy
# may add more: keys stay well below it.
MAX_KEY_BYTES = 200
UNSAFE_KEY_CHARS = re.compile(r"[^\w.\- ]")
MAX_UNKNOWN_NOTES = 20


@dataclass(frozen=True)
class Submission:
    """One student's file for one lesson, or (``lesson == ""``) notes not tied to a lesson.

    ``student`` is the display name (valid UTF-8, unique); ``key`` a file-name-safe id, unique
    even on a case-insensitive file system, for scratch folders and feedback files; ``path`` the
    file to grade (None: nothing gradable, ``notes`` say why); ``candidates`` every file that
    was considered for the lesson; ``name`` the chosen file as notes call it (its path in the
    student's folder, readable), for ``prepare.read_submission`` and ``prepare.restore``;
    ``flagged`` when a link out of the student's own folder was refused (a link to
    ``solutions/`` is an attempt, not an accident: the row should be flagged).
    """

    student: str
    key: str
    lesson: str
    path: Path | None
    notes: tuple[str, ...] = ()
    candidates: tuple[Path, ...] = ()
    name: str = ""
    flagged: bool = False


def readable(name: str | bytes) -> str:
    """A file or folder name as valid UTF-8 text; undecodable bytes shown as ``\\xe9``."""
    raw = name if isinstance(name, bytes) else os.fsencode(name)
    return raw.decode("utf-8", "backslashreplace")


def in_shard(student: str | bytes, shard: tuple[int, int]) -> bool:
    """Stable across machines and runs: the same folder always lands in the same shard.

    Hashes the folder name's bytes (for a UTF-8 name, the same bytes as ``name.encode()``).
    """
    index, count = shard
    raw = student if isinstance(student, bytes) else os.fsencode(student)
    digest = int(hashlib.sha256(raw).hexdigest(), 16)
    return digest % count == index - 1


def skipped(name: str) -> bool:
    """Hidden files, editor checkpoints and what archivers add: never a student's work."""
    return name.startswith(".") or name in SKIPPED_NAMES


def collect(folder: Path, releases: dict[str, Release], shard=(1, 1)) -> list[Submission]:
    """Every student folder of this shard, read into Submissions, sorted by student and lesson.

    Every student gets at least one Submission: one per lesson with files, plus one with
    ``lesson == ""`` when there are notes about files of no known lesson (or no files at all).
    """
    folder = Path(folder)
    root = os.path.realpath(folder)
    names = sorted((entry.name for entry in os.scandir(root) if not skipped(entry.name)),
                   key=os.fsencode)
    entries = [name for name in names if _is_student_entry(os.path.join(root, name))]
    displays = _unique_displays(entries)
    keys = _unique_keys(entries, displays)
    result = []
    for name in entries:
        if not in_shard(name, shard):
            continue
        student = _Student(displays[name], keys[name], folder / name, root)
        result += student.submissions(releases)
    return sorted(result, key=lambda s: (os.fsencode(s.student), s.lesson))


def _is_student_entry(path: str) -> bool:
    """Folders and links (a link is a student whose files are refused); loose files are not."""
    return os.path.islink(path) or os.path.isdir(path)


def _unique_displays(names: list[str]) -> dict[str, str]:
    """Readable names; a non-UTF-8 name whose readable form is taken gets a hash of its bytes.

    UTF-8 names are kept as they are and claim theirs first, so ``caf\\xe9`` spelled out
    by one student and the byte 0xE9 in another's name stay two students.
    """
    displays = {name: readable(name) for name in names if _is_utf8(name)}
    taken = set(displays.values())
    for name in names:
        if name not in displays:
            display = readable(name)
            if display in taken:
                display = _with_hash(display, name, taken, lambda text, tag: f"{text} ~{tag}")
            displays[name] = display
            taken.add(display)
    return {name: displays[name] for name in names}


def _unique_keys(names: list[str], displays: dict[str, str]) -> dict[str, str]:
    """File-name-safe ids; the display name itself wherever it is safe and short enough.

    Compared case-insensitively, so two feedback files never overwrite each other on macOS or
    Windows. Any other key is the safe part of the name, cut to fit, and a hash of the
    folder's bytes, which keeps it unique.
    """
    keys, taken = {}, set()
    for name in names:  # the names kept as they are claim their key first
        display = displays[name]
        if _safe(display) == display and len(display.encode()) <= MAX_KEY_BYTES \
                and display.casefold() not in taken:
            keys[name] = display
            taken.add(display.casefold())
    for name in names:
        if name not in keys:
            keys[name] = _with_hash(_safe(readable(name)), name, taken, _fitted, fold=True)
            taken.add(keys[name].casefold())
    return {name: keys[name] for name in names}


def _safe(display: str) -> str:
    """Letters, digits, ``_ - .`` and spaces only, never hidden or empty."""
    key = UNSAFE_KEY_CHARS.sub("_", display).strip(" ")
    return key if key and not key.startswith((".", "-")) else "_" + key


def _fitted(text: str, tag: str) -> str:
    """``text-tag`` in at most MAX_KEY_BYTES, cut at a character boundary."""
    budget = MAX_KEY_BYTES - len(tag) - 1
    cut = text.encode()[:budget].decode("utf-8", "ignore").rstrip(" ")
    return f"{cut}-{tag}"


def _with_hash(text: str, name: str, taken: set[str], tagged, fold=False) -> str:
    """``tagged(text, hash)`` with the shortest hash of the name's bytes that is not taken."""
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()
    for length in range(8, len(digest) + 1, 4):
        candidate = tagged(text, digest[:length])
        if (candidate.casefold() if fold else candidate) not in taken:
            return candidate
    raise AssertionError(f"no free name for {readable(name)!r}")  # a SHA-256 collision


def _is_utf8(name: str) -> bool:
    try:
        os.fsencode(name).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class _Student:
    """One student's folder while it is being read."""

    student: str
    key: str
    folder: Path
    root: str  # the submissions folder, links resolved

    def submissions(self, releases) -> list[Submission]:
        found: dict[str, list[tuple[str, int]]] = {}  # lesson -> (relative path, mtime)
        refused: dict[str, list[str]] = {}  # lesson -> notes about refused links
        loose: list[str] = []  # notes not tied to a lesson
        unknown: list[str] = []  # files of no lesson
        flagged: set[str] = set()  # lessons ("" for none) with a link out of the folder
        if os.path.islink(self.folder):
            loose.append(f"{self.student}: the student's folder is a link "
                         f"({self._target_text(str(self.folder))}); refused, not graded")
            flagged.add("")
        else:
            for relative, problem, leaves in sorted(self._walk()):
                lesson = self._lesson(relative, releases)
                if problem:
                    (refused.setdefault(lesson, []) if lesson else loose).append(problem)
                    if leaves:
                        flagged.add(lesson or "")
                elif lesson is None:
                    unknown.append(relative)
                else:
                    mtime = os.stat(self.folder / relative).st_mtime_ns
                    found.setdefault(lesson, []).append((self._resolved(relative), mtime))
        linked = {relative for files in found.values() for relative, _ in files}
        unknown = [f"{readable(relative)}: unknown lesson (not one of the released notebooks); "
                   "not graded" for relative in unknown if relative not in linked]
        if len(unknown) > MAX_UNKNOWN_NOTES:
            more = len(unknown) - MAX_UNKNOWN_NOTES + 1
            unknown[MAX_UNKNOWN_NOTES - 1:] = [f"... and {more} more files of no released lesson"]
        result = [self._lesson_submission(lesson, found.get(lesson, []), refused.get(lesson, []),
                                          lesson in flagged)
                  for lesson in sorted(set(found) | set(refused))]
        if loose or unknown or not result:
            notes = loose + unknown or ["no files in the student's folder"]
            result.insert(0, Submission(self.student, self.key, "", None, tuple(notes),
                                        flagged="" in flagged))
        return result

    def _lesson(self, relative: str, releases) -> str | None:
        """By the file name's two leading digits; ``week9\\03_x.ipynb`` (a Windows zip's
        path kept as one name by unzip) is lesson 03 too."""
        match = LESSON.match(os.path.basename(relative).rsplit("\\", 1)[-1])
        return match.group(1) if match and match.group(1) in releases else None

    def _walk(self):
        """(path in the student's folder, why it is refused or "", whether it is a link out of
        the folder) for every file.

        An explicit stack, never following a folder link: no recursion limit, no loop.
        """
        stack = [""]
        while stack:
            relative = stack.pop()
            try:
                entries = list(os.scandir(self.folder / relative))
            except OSError as error:
                shown = f"{readable(relative)}/" if relative else "the student's folder"
                yield relative, f"{shown}: could not be listed ({error.strerror})", False
                continue
            for entry in entries:
                if skipped(entry.name):
                    continue
                inner = os.path.join(relative, entry.name)
                if entry.is_symlink():
                    yield (inner, *self._link_problem(inner))
                elif entry.is_dir():
                    stack.append(inner)
                elif entry.is_file():
                    yield inner, "", False
                else:  # a pipe or a device: reading it could block the grader
                    yield inner, f"{readable(inner)}: not a regular file; ignored", False

    def _link_problem(self, relative: str) -> tuple[str, bool]:
        """Why a link is not read ("" for a file link that stays in this student's folder: it is
        read as a file), and whether it leads out of the student's folder."""
        path = str(self.folder / relative)
        target = os.path.realpath(path)
        shown = readable(relative)
        where = self._target_text(path)
        own = os.path.realpath(self.folder)
        if os.path.islink(target) or not os.path.exists(target):
            return (f"{shown}: a link that leads nowhere ({where}: missing, or a loop); "
                    "ignored"), False
        if not _inside(target, self.root):
            return (f"{shown}: a link to {where}, outside the submissions folder; "
                    "refused, not graded"), True
        if not _inside(target, own):
            return (f"{shown}: a link to {where}, outside the student's own folder; "
                    "refused, not graded"), True
        if os.path.isdir(target):
            return (f"{shown}: a link to the folder {where}; not followed "
                    "(its files are read where they are)"), False
        if not stat.S_ISREG(os.stat(target).st_mode):
            return f"{shown}: a link to {where}, not a regular file; ignored", False
        return "", False

    def _target_text(self, path: str) -> str:
        """Where a link points, as the link says it (relative or absolute), readable."""
        try:
            return readable(os.readlink(path))
        except OSError:
            return "an unreadable target"

    def _lesson_submission(self, lesson, files, refused, flagged) -> Submission:
        if not files:
            return Submission(self.student, self.key, lesson, None, tuple(refused),
                              flagged=flagged)
        files = list(dict(files).items())  # a link and its target: one file
        chosen, why = _choose(files)
        notes = list(refused)
        if len(files) > 1:
            listed = ", ".join(readable(relative) for relative, _ in sorted(files))
            notes.append(f"{len(files)} files for lesson {lesson}: {listed}; graded "
                         f"{readable(chosen)} ({why})")
        return Submission(self.student, self.key, lesson, self.folder / chosen, tuple(notes),
                          tuple(self.folder / relative for relative, _ in sorted(files)),
                          readable(chosen), flagged)

    def _resolved(self, relative: str) -> str:
        """A file link's target (inside this folder), so what is graded is what was checked."""
        path = self.folder / relative
        if not os.path.islink(path):
            return relative
        return os.path.relpath(os.path.realpath(path), os.path.realpath(self.folder))


def _choose(files: list[tuple[str, int]]) -> tuple[str, str]:
    """A notebook before any other file, then the newest, then the name that sorts last."""
    def rank(item):
        relative, mtime = item
        return (_is_notebook(relative), mtime, os.fsencode(relative))

    ordered = sorted(files, key=rank, reverse=True)
    best, runner_up = ordered[0], ordered[1] if len(ordered) > 1 else None
    kind = "notebook" if _is_notebook(best[0]) else "file"
    if runner_up is None:
        return best[0], "the only file"
    if _is_notebook(best[0]) and not _is_notebook(runner_up[0]):
        return best[0], "the only notebook"
    if best[1] != runner_up[1]:
        return best[0], f"the newest {kind}"
    return best[0], f"the same time as another {kind}; the name that sorts last"


def _is_notebook(relative: str) -> bool:
    return relative.lower().endswith(".ipynb")


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
