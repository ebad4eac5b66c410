"""A submission folder, validated and copied to a private snapshot before anything runs.

Grading reads only the snapshot: a submission that edits its own files while it is graded
cannot change what is graded. Symlinks that point outside the folder are not followed. The
folder is walked breadth first without recursion, at most MAX_DEPTH levels and MAX_SEEN
entries deep, and the snapshot is removed again if taking it fails.
"""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SubmissionError
from ..model.text import clean_name, clean_line

MAX_FILE_BYTES = 5 << 20
MAX_TOTAL_BYTES = 50 << 20
MAX_FILES = 2000
MAX_SEEN = 20000
"""Files and folders looked at, at most, in a submission."""
MAX_DEPTH = 32
"""Folder levels below the submission that are looked at, at most."""
SKIPPED_DIRS = {".git", "__pycache__", ".hypothesis", ".pytest_cache", "node_modules", ".venv", "venv"}


@dataclass
class SourceFile:
    """One expected file: `status` is ok | missing | not_a_file | outside | too_large | unreadable."""

    name: str
    status: str
    source: bytes = b""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def problem(self) -> str:
        """Why the file cannot be graded, in words (empty when it can)."""
        detail = clean_line(self.detail)
        return {
            "ok": "",
            "missing": "the submission has no %s" % self.name,
            "not_a_file": "%s in the submission is not a regular file (%s)" % (self.name, detail),
            "outside": "%s is a symlink to %s, outside the submission folder; it was not followed"
                       % (self.name, detail),
            "too_large": "%s is too large to grade (%s)" % (self.name, detail),
            "unreadable": "%s could not be read (%s)" % (self.name, detail),
        }[self.status]


@dataclass
class Snapshot:
    """A private, read-only copy of the submission's files in `root`."""

    original: Path
    root: Path
    files: dict[str, SourceFile] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        remove_tree(self.root.parent)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def take_snapshot(path: str | os.PathLike, expected: list[str]) -> Snapshot:
    """Validate `path` and copy its files (bounded) to a fresh private folder. The folder is
    removed again if anything goes wrong while it is taken."""
    original = Path(path)
    if not original.exists() and not original.is_symlink():
        raise SubmissionError("%s does not exist" % original)
    if not original.is_dir():
        raise SubmissionError("%s is a file, not a folder; pass the folder that holds %s"
                              % (original, " and ".join(expected)))
    folder = original.resolve()
    _sweep_stale_snapshots()
    work = Path(tempfile.mkdtemp(prefix="backprop-grader-%d-" % os.getpid()))
    root = work / "submission"
    snapshot = Snapshot(original=original, root=root)
    try:
        root.mkdir()
        _copy_files(folder, snapshot)
        for name in expected:
            snapshot.files[name] = _expected_file(folder, root, name)
        for dirpath in _folders(root):
            os.chmod(dirpath, 0o555)
        os.chmod(work, 0o755)
    except BaseException:
        snapshot.cleanup()
        raise
    return snapshot


def walk_files(folder: Path, skip: frozenset[str] | set[str] = frozenset(), max_depth: int = MAX_DEPTH,
               max_entries: int = MAX_SEEN) -> tuple[list[Path], list[str]]:
    """Every file (any kind but a folder; symlinks included, never followed) under `folder`,
    shallowest first (the top's files before any folder's), walked breadth first without
    recursion: folders named in `skip` or that are symlinks are not entered, nor folders deeper
    than `max_depth`, and at most `max_entries` entries are looked at. Returns (files, what the
    limits left out, in words)."""
    files: list[Path] = []
    limits: list[str] = []
    pending: collections.deque[tuple[Path, int]] = collections.deque([(folder, 0)])
    seen = 0
    while pending:
        current, depth = pending.popleft()  # breadth first: the entry limit keeps the top
        try:
            with os.scandir(current) as found:
                entries = sorted(found, key=lambda entry: entry.name)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > max_entries:
                limits.append("the submission holds more than %d files and folders; only the first were"
                              " looked at" % max_entries)
                return _shallowest_first(files), limits
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if not is_dir:
                files.append(Path(entry.path))
            elif entry.name in skip:
                continue
            elif depth + 1 > max_depth:
                if not limits:
                    limits.append("folders nested more than %d levels deep were not looked at" % max_depth)
            else:
                pending.append((Path(entry.path), depth + 1))
    return _shallowest_first(files), limits


def _shallowest_first(files: list[Path]) -> list[Path]:
    return sorted(files, key=lambda path: (len(path.parts), path))


def _copy_files(folder: Path, snapshot: Snapshot) -> None:
    """Copy the regular files of `folder` into the snapshot, within the limits (with notices)."""
    root = snapshot.root
    total = 0
    count = 0
    skipped: list[str] = []
    files, limits = walk_files(folder, SKIPPED_DIRS)
    for source in files:
        relative = source.relative_to(folder)
        try:
            info = source.lstat()
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            if not _inside(source, folder):
                continue
            try:
                info = source.stat()
            except OSError:
                continue
        if not stat.S_ISREG(info.st_mode):
            continue
        if info.st_size > MAX_FILE_BYTES or total + info.st_size > MAX_TOTAL_BYTES or count >= MAX_FILES:
            skipped.append(clean_name(str(relative)))
            continue
        target = root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        except OSError:
            continue
        target.chmod(0o444)
        total += info.st_size
        count += 1
    snapshot.notices += limits
    if skipped:
        snapshot.notices.append(
            "skipped %d file%s (the snapshot keeps files up to %d MB, %d MB and %d files in all): %s%s"
            % (len(skipped), "" if len(skipped) == 1 else "s", MAX_FILE_BYTES >> 20, MAX_TOTAL_BYTES >> 20,
               MAX_FILES, ", ".join(skipped[:5]), ", ..." if len(skipped) > 5 else ""))


def _folders(top: Path) -> list[Path]:
    """`top` and every folder under it (never through a symlink), without recursion."""
    found = [top]
    index = 0
    while index < len(found):
        try:
            with os.scandir(found[index]) as entries:
                found += [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        except OSError:
            pass
        index += 1
    return found


def remove_tree(top: Path) -> None:
    """Remove `top` and everything under it, however deep and whatever its permissions, without
    recursion; what cannot be removed is left (best effort)."""
    folders = _folders(top)
    for folder in folders:
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o755)
    for folder in reversed(folders):
        try:
            with os.scandir(folder) as entries:
                names = [e.path for e in entries if not e.is_dir(follow_symlinks=False)]
        except OSError:
            names = []
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(name)
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _sweep_stale_snapshots(min_age_s: float = 3600.0) -> None:
    """Remove the snapshots of graders that were killed before they could clean up: their
    folder names carry the grader's pid. Only folders of processes that no longer exist and
    that are at least `min_age_s` old (in case /tmp is shared across pid namespaces) go."""
    now = time.time()
    for work in Path(tempfile.gettempdir()).glob("backprop-grader-*-*"):
        owner = work.name.split("-")[2]
        if not owner.isdigit() or _alive(int(owner)):
            continue
        try:
            if now - work.stat().st_mtime < min_age_s:
                continue
            Snapshot(original=work, root=work / "submission").cleanup()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _expected_file(folder: Path, root: Path, name: str) -> SourceFile:
    original = folder / name
    if original.is_symlink():
        target = os.readlink(original)
        try:
            resolved = original.resolve(strict=True)
        except FileNotFoundError:
            return SourceFile(name, "not_a_file", detail="a symlink to %s, which does not exist" % target)
        except (OSError, RuntimeError):
            return SourceFile(name, "not_a_file", detail="a symlink that leads back to itself (%s)" % target)
        try:
            resolved.relative_to(folder)
        except ValueError:
            return SourceFile(name, "outside", detail=target)
    if not original.exists():
        return SourceFile(name, "missing")
    if not original.is_file():
        return SourceFile(name, "not_a_file", detail="a folder" if original.is_dir() else "a special file")
    copy = root / name
    if not copy.exists():
        try:
            size = original.stat().st_size
        except OSError as exc:
            return SourceFile(name, "unreadable", detail=str(exc))
        if size > MAX_FILE_BYTES:
            return SourceFile(name, "too_large", detail="%.1f MB; the grader takes files up to %d MB"
                              % (size / (1 << 20), MAX_FILE_BYTES >> 20))
        return SourceFile(name, "too_large", detail="the submission holds more than %d MB or %d files in all"
                          % (MAX_TOTAL_BYTES >> 20, MAX_FILES))
    try:
        return SourceFile(name, "ok", source=copy.read_bytes())
    except OSError as exc:
        return SourceFile(name, "unreadable", detail=str(exc))
