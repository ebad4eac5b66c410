"""Incremental, resumable batch results: `--results FILE.jsonl`, `--shard I/N`, `grader merge`.

Each line of a results file is one finished submission: {"folder": the path as given, "key":
what it was graded under, "report": the JSON report (schema 2)}. A line is appended (one write
on an O_APPEND descriptor) as soon as its submission is graded, so an interrupted batch keeps
every finished result; a torn last line is ignored on reading.

The key is a SHA-256 over the submission's content (every file's relative path and bytes), the
rubric file's bytes, the grader's version and source, and the options that change a grade
(seed, selection, deadlines, variant, sandbox, late-policy dates, reviewers' decisions, and
a SHA-256 of the grading secret, whatever its source, never the secret). A rerun with the same file reuses a line whose
key is unchanged; a report with `error` set is never reused (the next run tries again).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UsageError
from ..model.results import GradeReport
from ..sandbox.snapshot import walk_files

SKIPPED_FOLDERS = frozenset({"__pycache__"})
"""Folders whose content never changes a grade (Python's bytecode caches). Jupyter's
`.ipynb_checkpoints` is not one of them: the format policy sees its notebooks."""


def submission_digest(path: str) -> str:
    """SHA-256 of a submission folder: every file the grader's bounded walk finds in it
    (`sandbox.snapshot.walk_files`: iterative, limited in depth and entries, as the snapshot
    and the format policy are) but Python's caches, by its path relative to the folder and its
    bytes (symbolic links by their target, never followed); "missing" when `path` is not a
    folder."""
    root = Path(path)
    if not root.is_dir():
        return "missing"
    files, _ = walk_files(root, SKIPPED_FOLDERS)
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda found: found.relative_to(root).as_posix()):
        relative = file.relative_to(root).as_posix()
        digest.update(b"\0file\0" + relative.encode("utf-8", "surrogateescape") + b"\0")
        if file.is_symlink():
            digest.update(b"link:" + os.readlink(file).encode("utf-8", "surrogateescape"))
            continue
        try:
            with open(file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError as exc:
            digest.update(b"unreadable:" + type(exc).__name__.encode())
    return digest.hexdigest()


def file_digest(path: str | os.PathLike[str] | None) -> str | None:
    """SHA-256 of a file's bytes (None for no file): a secret is keyed by this alone."""
    if path is None:
        return None
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return "unreadable"


@functools.lru_cache(maxsize=1)
def grader_digest() -> str:
    """The grader's version and a SHA-256 of its own source (a fix regrades what it may change)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256(__version__.encode())
    for file in sorted(package.rglob("*")):
        if file.suffix in (".py", ".toml", ".tmpl") and "__pycache__" not in file.parts:
            digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def run_key(options: Mapping[str, Any]) -> str:
    """The part of every submission's key that the whole run shares (JSON-able `options`)."""
    text = json.dumps({"grader": grader_digest(), "options": options}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def submission_key(run: str, folder: str) -> str:
    return hashlib.sha256(("%s\0%s\0%s" % (run, folder, submission_digest(folder))).encode()).hexdigest()


@dataclass
class Entry:
    """One line of a results file."""

    folder: str
    key: str
    report: GradeReport


def read_results(path: str | os.PathLike[str]) -> list[Entry]:
    """Every well-formed line of a results file, in order (a torn or foreign line is skipped)."""
    entries = []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    for line in text.splitlines():
        try:
            data = json.loads(line)
            entries.append(Entry(str(data["folder"]), str(data["key"]), GradeReport.from_json(data["report"])))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return entries


class ResultsStore:
    """A results file being appended to; the lines already there answer `cached`."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            raise UsageError("--results %s is not a file" % self.path)
        self.latest = {entry.folder: entry for entry in read_results(self.path)}
        self.fd: int | None = None

    def cached(self, folder: str, key: str) -> GradeReport | None:
        """The report of `folder` graded under `key` before, unless it could not be graded."""
        entry = self.latest.get(folder)
        if entry is None or entry.key != key or entry.report.error is not None:
            return None
        return entry.report

    def append(self, folder: str, key: str, report: GradeReport) -> None:
        """Add one line at once (a single write, so a line is whole or absent)."""
        if self.fd is None:
            if self.path.parent != Path(""):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)  # less the umask, as -o
            if os.fstat(self.fd).st_size and not _ends_with_newline(self.path):
                os.write(self.fd, b"\n")  # a line torn by an earlier interruption stays on its own
        line = json.dumps({"folder": folder, "key": key, "report": report.to_json()}, separators=(",", ":"))
        os.write(self.fd, (line + "\n").encode("utf-8"))
        self.latest[folder] = Entry(folder, key, report)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def parse_shard(text: str) -> tuple[int, int]:
    """"I/N" -> (I, N) with 0 <= I < N; UsageError otherwise."""
    index, _, count = text.partition("/")
    try:
        shard, total = int(index), int(count)
    except ValueError:
        raise UsageError("--shard takes I/N, e.g. 0/4 (shards are numbered from 0)") from None
    if total < 1 or not 0 <= shard < total:
        raise UsageError("--shard %s: I must be in 0..N-1 and N at least 1" % text)
    return shard, total


def shard_of(folder: str, total: int) -> int:
    """The shard of a submission folder: by a hash of its name alone, so a folder stays in its
    shard however the class grows, wherever it is mounted."""
    name = Path(folder.rstrip("/\\")).name or folder
    return int.from_bytes(hashlib.sha256(name.encode("utf-8", "surrogateescape")).digest()[:8], "big") % total


def in_shard(paths: Iterable[str], shard: int, total: int) -> list[str]:
    return [p for p in paths if shard_of(p, total) == shard]


def merge_results(files: Iterable[str | os.PathLike[str]]) -> tuple[list[GradeReport], list[str]]:
    """The reports of several results files, one per folder (a later line wins), ordered by
    folder; and the folders found in more than one file (shards should not overlap)."""
    latest: dict[str, GradeReport] = {}
    seen_in: dict[str, set[int]] = {}
    for position, file in enumerate(files):
        if not Path(file).is_file():
            raise UsageError("%s: no such results file" % file)
        for entry in read_results(file):
            latest[entry.folder] = entry.report
            seen_in.setdefault(entry.folder, set()).add(position)
    overlapping = sorted(folder for folder, where in seen_in.items() if len(where) > 1)
    return [latest[folder] for folder in sorted(latest)], overlapping
