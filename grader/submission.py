"""A submission folder, validated and copied to a private snapshot before anything runs.

Grading reads only the snapshot: a submission that edits its own files while it is graded
cannot change what is graded. Symlinks that point outside the folder are not followed.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 5 << 20
MAX_TOTAL_BYTES = 50 << 20
MAX_FILES = 2000
SKIPPED_DIRS = {".git", "__pycache__", ".hypothesis", ".pytest_cache", "node_modules", ".venv", "venv"}


class SubmissionError(Exception):
    """The path cannot be graded at all (does not exist, is not a folder); exit code 2."""


@dataclass
class SourceFile:
    """One expected file: `status` is ok | missing | not_a_file | outside | unreadable."""

    name: str
    status: str
    source: bytes = b""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def problem(self) -> str:
        """Why the file cannot be graded, in words (empty when it can)."""
        return {
            "ok": "",
            "missing": "the submission has no %s" % self.name,
            "not_a_file": "%s in the submission is not a regular file (%s)" % (self.name, self.detail),
            "outside": "%s is a symlink to %s, outside the submission folder; it was not followed"
                       % (self.name, self.detail),
            "unreadable": "%s could not be read (%s)" % (self.name, self.detail),
        }[self.status]


@dataclass
class Snapshot:
    """A private, read-only copy of the submission's files in `root`."""

    original: Path
    root: Path
    files: dict[str, SourceFile] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        for dirpath, _, _ in os.walk(self.root.parent):
            os.chmod(dirpath, 0o755)
        shutil.rmtree(self.root.parent, ignore_errors=True)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def take_snapshot(path: str | os.PathLike, expected: list[str]) -> Snapshot:
    """Validate `path` and copy its files (bounded) to a fresh private folder."""
    original = Path(path)
    if not original.exists() and not original.is_symlink():
        raise SubmissionError("%s does not exist" % original)
    if not original.is_dir():
        raise SubmissionError("%s is a file, not a folder; pass the folder that holds %s"
                              % (original, " and ".join(expected)))
    folder = original.resolve()
    work = Path(tempfile.mkdtemp(prefix="backprop-grader-"))
    root = work / "submission"
    root.mkdir()
    snapshot = Snapshot(original=original, root=root)
    total = 0
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not Path(dirpath, d).is_symlink())
        for name in sorted(filenames):
            source = Path(dirpath) / name
            relative = source.relative_to(folder)
            if not _inside(source, folder):
                continue
            try:
                info = source.stat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if info.st_size > MAX_FILE_BYTES or total + info.st_size > MAX_TOTAL_BYTES or count >= MAX_FILES:
                snapshot.notices.append("skipped %s (the snapshot keeps files up to %d MB, %d MB in all)"
                                        % (relative, MAX_FILE_BYTES >> 20, MAX_TOTAL_BYTES >> 20))
                continue
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(source, target)
            except OSError:
                continue
            target.chmod(0o444)
            total += info.st_size
            count += 1
    for name in expected:
        snapshot.files[name] = _expected_file(folder, root, name)
    for dirpath, _, _ in os.walk(root):
        os.chmod(dirpath, 0o555)
    os.chmod(work, 0o755)
    return snapshot


def _expected_file(folder: Path, root: Path, name: str) -> SourceFile:
    original = folder / name
    if original.is_symlink() and not _inside(original, folder):
        return SourceFile(name, "outside", detail=os.readlink(original))
    if not original.exists():
        return SourceFile(name, "missing")
    if not original.is_file():
        return SourceFile(name, "not_a_file", detail="a folder" if original.is_dir() else "a special file")
    copy = root / name
    try:
        return SourceFile(name, "ok", source=copy.read_bytes())
    except OSError as exc:
        return SourceFile(name, "unreadable", detail=str(exc))
