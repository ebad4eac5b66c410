"""`grader init`: write a student starter folder from an assignment's templates."""

from __future__ import annotations

from pathlib import Path

from ..engine.assignment import Assignment
from ..errors import StarterExists


def write_starter(assignment: Assignment, folder: str | Path, force: bool = False) -> list[Path]:
    """Write the starter files into `folder` (created if needed); returns the paths written.

    Refuses, writing nothing, when any target exists unless `force`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise StarterExists("%s exists and is not a folder" % folder)

    targets = {folder / name: template for name, template in assignment.starter_files.items()}
    existing = [str(path) for path in targets if path.exists() or path.is_symlink()]
    if existing and not force:
        raise StarterExists("not overwriting %s (pass --force to replace)" % ", ".join(existing))
    blocked = [str(path) for path in targets if path.exists() and not path.is_symlink() and not path.is_file()]
    if blocked:
        raise StarterExists("not overwriting %s: not a regular file" % ", ".join(blocked))
    texts = {path: assignment.resource(template).read_text(encoding="utf-8") for path, template in targets.items()}
    written = []
    for path, text in texts.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_symlink():
                path.unlink()  # replace the link itself, never the file it points to
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise StarterExists("cannot write %s (%s)" % (path, exc.strerror or exc)) from None
        written.append(path)
    return written
