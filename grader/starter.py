"""`grader init`: write a student starter folder from the packaged templates."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# Target path in the starter folder -> template file in grader/templates/.
STARTER_FILES = {
    "mlp.py": "mlp.py.tmpl",
    "theory.py": "theory.py.tmpl",
    "README.md": "README.md.tmpl",
    ".github/workflows/grade.yml": "grade.yml.tmpl",
}


class StarterExists(Exception):
    """Some starter files already exist and --force was not given."""


def write_starter(folder: str | Path, force: bool = False) -> list[Path]:
    """Write the starter files into `folder` (created if needed); returns the paths written.

    Refuses, writing nothing, when any target exists unless `force`."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise StarterExists("%s exists and is not a folder" % folder)

    targets = {folder / name: template for name, template in STARTER_FILES.items()}
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise StarterExists("not overwriting %s (pass --force to replace)" % ", ".join(existing))
    written = []
    for path, template in targets.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = resources.files("grader").joinpath("templates", template).read_text(encoding="utf-8")
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
