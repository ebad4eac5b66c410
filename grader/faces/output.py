"""Writing the grader's own output files: whole, atomically, readable by the course's group.

A report is written to a fresh temporary file in the target's folder, created with mode 0666
minus the caller's umask (0644 or 0664 usually: readable by the group that shares a course
folder, unlike mkstemp's 0600), then renamed over the target, so that a reader never sees half
of it and anything already there (even a file planted by a submission) is replaced whole.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` (UTF-8) to `path`, creating its folder if needed (see the module docstring)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    while True:
        temp = target.parent / (".%s.%s.tmp" % (target.name, secrets.token_hex(8)))
        try:
            fd = os.open(temp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def write_folder(folder: str | os.PathLike[str], files: dict[str, str]) -> list[Path]:
    """Write `files` (relative POSIX path -> text) under `folder`, each atomically, in order
    (put the entry page last); returns the paths written. Paths are the grader's own names."""
    root = Path(folder)
    written = []
    for relative, text in files.items():
        parts = Path(relative).parts
        if not parts or any(part in ("", ".", "..") or part.startswith("/") for part in parts):
            raise ValueError("not a relative file name: %r" % relative)
        path = root.joinpath(*parts)
        write_atomic(path, text)
        written.append(path)
    return written


def safe_file_stem(name: str, taken: set[str]) -> str:
    """A file name stem made of `name` (letters, digits, . _ -; never hidden, at most 60
    characters), unique among `taken` (which it joins)."""
    stem = _UNSAFE.sub("_", name).strip("._-")[:60] or "submission"
    unique = stem
    number = 2
    while unique.lower() in taken:
        unique = "%s_%d" % (stem, number)
        number += 1
    taken.add(unique.lower())
    return unique
