"""Intake: which folder of a submission to grade, and notebooks that stand in for Python files.

Students hand in what they worked in. `take_submission(path, expected, policies)` takes the
snapshot the grading reads (`sandbox.snapshot.take_snapshot`) after deciding what to grade:

1. **The folder itself** when its top holds one of the `expected` files (`mlp.py`) or, unless
   notebooks are rejected, the notebook of the same name (`mlp.ipynb`).
2. **One nested folder** otherwise: the one sub-folder (at most `MAX_DEPTH` levels down,
   never through a symlink, skipping hidden, cache and `__MACOSX` folders) that holds one, the
   shallowest if several are nested in each other (`hw1/`, `submission/hw1/`). A notice says
   which; several at the same depth are an error that names them (the grader does not guess).
3. **Nothing**: `SubmissionError` saying what is missing and listing what the folder holds,
   with a hint for a file named like an expected one (`mlp_final.py`).

A notebook `X.ipynb` stands in for a missing `X.py` (the rubric's `[policies.format]
notebooks`: "accept", the default, or "penalize" grade it; "reject" does not). Its code cells,
in order, become `X.py` in the snapshot: each cell starts with a `# [cell N]` comment line,
IPython magics (`%time`, `%%capture`), shell lines (`!pip install`), help lines (`obj?`) and
`get_ipython()` calls are replaced line for line by `pass` (so line numbers stay put), and
cells run by a non-Python cell magic (`%%bash`, `%%writefile`) are commented out. A notice
says what was removed. Nothing of the notebook is executed here: it is parsed as JSON.
"""

from __future__ import annotations

import difflib
import io
import json
import os
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SubmissionError
from .documents import find_document
from ..model.text import clean_name
from ..sandbox.snapshot import MAX_FILE_BYTES, SKIPPED_DIRS, Snapshot, SourceFile, take_snapshot
from .policies import Policies

MAX_DEPTH = 3
"""How many folder levels below the submission a nested folder may be (`a/b/c/mlp.py`)."""
MAX_ENTRIES = 5000
"""Directory entries looked at, at most, while searching for a nested folder."""
IGNORED_DIRS = SKIPPED_DIRS | {"__MACOSX", ".ipynb_checkpoints"}
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun", "memit", "python", "python3"}
"""Cell magics whose body is still Python: only the magic line is removed."""
SHOWN_ENTRIES = 12

_ASSIGNED_SHELL = re.compile(r"^[A-Za-z_]\w*\s*=\s*!")
_ASSIGNED_MAGIC = re.compile(r"^[A-Za-z_]\w*\s*=\s*%")
_HELP = re.compile(r"^(\?{1,2}[A-Za-z_][\w.]*|[A-Za-z_][\w.]*\?{1,2})$")


class NotebookError(ValueError):
    """A notebook that cannot be read as one (the message says why)."""


@dataclass
class Intake:
    """What to grade: `folder` (the submission or one folder inside it), `stand_ins` (a
    missing part file -> the notebook standing in for it) and `notices` for the report."""

    folder: Path
    stand_ins: dict[str, str] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


@dataclass
class Converted:
    """A notebook's code cells as one Python text, with what was removed (for the notice)."""

    text: str
    cells: int
    magics: list[str] = field(default_factory=list)
    shell: list[str] = field(default_factory=list)
    commented_cells: list[str] = field(default_factory=list)


def shown_name(text: str, limit: int = 80) -> str:
    """A name from the submission, fit for a one-line message: printable, no line breaks, no
    bidirectional overrides, at most `limit` characters."""
    text = clean_name(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def notebook_name(filename: str) -> str | None:
    """The notebook that may stand in for `filename` (`mlp.py` -> `mlp.ipynb`), or None."""
    return filename[:-3] + ".ipynb" if filename.endswith(".py") else None


def notebook_mode(policies: Policies | None) -> str:
    """The rubric's `[policies.format] notebooks` ("accept" when it says nothing)."""
    fmt = policies.format if policies is not None else None
    return fmt.notebooks if fmt is not None else "accept"


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    """The entries of `folder`, sorted by name (OSError when it cannot be listed)."""
    with os.scandir(folder) as found:
        return sorted(found, key=lambda entry: entry.name)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _holds(folder: Path, expected: list[str], notebooks: str, documents: tuple[str, ...] = ()) -> bool:
    """True when `folder`'s top has an expected file (of any kind: a folder named mlp.py is the
    snapshot's to explain), a notebook that may stand in for one, or a document matching one of
    the `documents` globs (a written answer sheet)."""
    if documents and find_document(folder, documents) is not None:
        return True
    for name in expected:
        if os.path.lexists(folder / name):
            return True
        notebook = notebook_name(name)
        if notebooks != "reject" and notebook and (folder / notebook).is_file():
            return True
    return False


def _sub_folders(folder: Path) -> Iterable[tuple[Path, int]]:
    """(folder, depth) for every sub-folder, breadth first, bounded by MAX_DEPTH and MAX_ENTRIES;
    symlinks, hidden and cache folders are not entered."""
    queue = [(folder, 0)]
    seen = 0
    while queue:
        current, depth = queue.pop(0)
        if depth >= MAX_DEPTH:
            continue
        try:
            entries = _entries(current)
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > MAX_ENTRIES:
                return
            if _is_dir(entry) and not entry.name.startswith(".") and entry.name not in IGNORED_DIRS:
                path = Path(entry.path)
                yield path, depth + 1
                queue.append((path, depth + 1))


def _relative(path: Path, root: Path) -> str:
    return shown_name(path.relative_to(root).as_posix()) + "/"


def _listing(folder: Path) -> str:
    """What the top of `folder` holds, in a few words (folders end with /)."""
    try:
        entries = _entries(folder)
    except OSError as exc:
        return "it cannot be listed (%s)" % shown_name(exc.strerror or str(exc))
    if not entries:
        return "it is empty"
    names = [shown_name(entry.name, 40) + ("/" if _is_dir(entry) else "") for entry in entries]
    more = len(names) - SHOWN_ENTRIES
    shown = ", ".join(names[:SHOWN_ENTRIES]) + (", and %d more" % more if more > 0 else "")
    return "it holds: %s" % shown


def _hints(folder: Path, expected: list[str], notebooks: str) -> list[str]:
    """Hints for files named almost like an expected one, and for rejected notebooks."""
    try:
        names = [entry.name for entry in _entries(folder) if entry.is_file(follow_symlinks=False)]
    except OSError:
        return []
    hints = []
    for name in expected:
        notebook = notebook_name(name)
        if notebooks == "reject" and notebook and notebook in names:
            hints.append("%s is a notebook, which this course does not accept (the rubric's [policies.format]"
                         ' notebooks = "reject"): hand in %s' % (notebook, name))
            continue
        suffix = Path(name).suffix
        candidates = [n for n in names if n.endswith(suffix) and n != name]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        stem = Path(name).stem
        close = close or [n for n in candidates if n.lower().startswith(stem.lower())][:1]
        if close:
            hints.append("did you mean %s? rename it %s" % (shown_name(close[0], 40), name))
    return hints


def locate(path: str | os.PathLike[str], expected: list[str], notebooks: str = "accept",
           documents: tuple[str, ...] = ()) -> Intake:
    """The folder of `path` to grade (see the module docstring); SubmissionError when there is
    none. `path` must be an existing folder."""
    root = Path(path)
    if _holds(root, expected, notebooks, documents):
        intake = Intake(root)
        intake.notices += _stray_parts(root, expected)
        return intake
    candidates = [(folder, depth) for folder, depth in _sub_folders(root)
                  if _holds(folder, expected, notebooks, documents)]
    if candidates:
        shallowest = min(depth for _, depth in candidates)
        top = [folder for folder, depth in candidates if depth == shallowest]
        if len(top) > 1:
            raise SubmissionError("nothing to grade at the top of %s, and several folders inside it hold %s: %s;"
                                  " grade one of them" % (path, " or ".join(expected),
                                                          ", ".join(_relative(f, root) for f in top[:6])))
        folder = top[0]
        notice = ("graded the folder %s inside the submission: its top holds none of %s"
                  % (_relative(folder, root), ", ".join(expected)))
        first = folder.relative_to(root).parts[0]
        others = [e.name for e in _entries(root)
                  if e.name != first and not e.name.startswith(".") and e.name not in IGNORED_DIRS]
        if others:
            notice += " (%d other entr%s at the top not graded)" % (len(others), "y" if len(others) == 1 else "ies")
        return Intake(folder, notices=[notice])
    wanted = "; ".join("the submission has no %s" % name for name in expected)
    notebooks_too = [n for n in (notebook_name(name) for name in expected) if n] if notebooks != "reject" else []
    where = " (nor %s, at its top or in a sub-folder)" % " or ".join(notebooks_too) if notebooks_too else ""
    if documents:
        where += "; no written sheet (%s)" % ", ".join(documents)
    message = "nothing to grade in %s: %s%s; %s" % (path, wanted, where, _listing(root))
    hints = _hints(root, expected, notebooks)
    if hints:
        message += "; " + "; ".join(hints)
    raise SubmissionError(message)


def _stray_parts(root: Path, expected: list[str]) -> list[str]:
    """Notices for expected files missing at the top but present in one sub-folder."""
    notices: list[str] = []
    missing = [name for name in expected if not os.path.lexists(root / name)]
    if not missing:
        return notices
    folders = [folder for folder, _ in _sub_folders(root)]
    for name in missing:
        found = [folder for folder in folders if (folder / name).is_file()]
        if found:
            notices.append("%s is not at the top of the submission but in %s; it was not graded (put %s at the top)"
                           % (name, _relative(found[0], root), name))
    return notices


def _cell_lines(cell: dict[str, Any]) -> list[str]:
    source = cell.get("source", cell.get("input", ""))
    if isinstance(source, list):
        source = "".join(part for part in source if isinstance(part, str))
    if not isinstance(source, str):
        return []
    return source.splitlines()


def _code_cells(data: Any) -> list[list[str]]:
    """The code cells' lines, nbformat 4 (`cells`) or 3 (`worksheets[].cells`)."""
    if not isinstance(data, dict):
        raise NotebookError("it is not a notebook (a JSON object with cells)")
    cells = data.get("cells")
    if cells is None and isinstance(data.get("worksheets"), list):
        cells = [c for sheet in data["worksheets"] if isinstance(sheet, dict) for c in sheet.get("cells", [])]
    if not isinstance(cells, list):
        raise NotebookError("it has no list of cells")
    return [_cell_lines(c) for c in cells if isinstance(c, dict) and c.get("cell_type") == "code"]


def _statement_starts(lines: list[str]) -> set[int]:
    """Indices of the lines that begin a statement (not inside brackets or a string, not after
    a backslash). When Python cannot tokenize the cell, every line counts as a start."""
    starts: set[int] = set()
    depth = 0
    at_start = True
    try:
        for token in tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline):
            if token.type == tokenize.NEWLINE or (token.type == tokenize.NL and depth == 0):
                at_start = True
                continue
            if token.type in (tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT, tokenize.ENDMARKER):
                continue
            if at_start:
                starts.add(token.start[0] - 1)
                at_start = False
            if token.type == tokenize.OP and token.string in ("(", "[", "{"):
                depth += 1
            elif token.type == tokenize.OP and token.string in (")", "]", "}"):
                depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError):
        return set(range(len(lines)))
    return starts


def _ipython_kind(stripped: str) -> str | None:
    """"shell" or "magic" when the statement `stripped` is IPython syntax, else None."""
    if stripped.startswith("!") or _ASSIGNED_SHELL.match(stripped):
        return "shell"
    if stripped.startswith(("%", "get_ipython()")) or _ASSIGNED_MAGIC.match(stripped) or _HELP.match(stripped):
        return "magic"
    return None


def convert_notebook(data: bytes, name: str = "notebook") -> Converted:
    """The code cells of the notebook `data` (its file's bytes) as one Python text; raises
    NotebookError when it is not a notebook or holds no code."""
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise NotebookError("%s is not a readable notebook (%s)" % (name, shown_name(str(exc), 120))) from None
    cells = _code_cells(notebook)
    if not any(line.strip() for lines in cells for line in lines):
        raise NotebookError("%s has no code cells" % name)
    converted = Converted(text="", cells=0)
    out: list[str] = []
    for number, lines in enumerate(cells, start=1):
        if not any(line.strip() for line in lines):
            continue
        converted.cells += 1
        out.append("# [cell %d]" % number)
        out += _convert_cell(lines, number, converted)
    converted.text = "\n".join(out) + "\n"
    return converted


def _convert_cell(lines: list[str], number: int, converted: Converted) -> list[str]:
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("%%"):
        magic = first[2:].split()[0] if first[2:].split() else ""
        if magic not in PYTHON_CELL_MAGICS:
            converted.commented_cells.append("cell %d (%s)" % (number, shown_name(first, 40)))
            return ["# " + line for line in lines]
    starts = _statement_starts(lines)
    out = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        kind = _ipython_kind(stripped) if index in starts else None
        if kind is not None:
            (converted.shell if kind == "shell" else converted.magics).append(shown_name(stripped, 40))
            indent = line[: len(line) - len(line.lstrip())]
            out.append("%spass  # removed by the grader: an IPython line" % indent)
        else:
            out.append(line)
    return out


def notebook_notice(notebook: str, target: str, converted: Converted) -> str:
    """The report's notice for a notebook graded as `target`."""
    notice = ("%s graded as %s: its %d code cell%s joined in order (line numbers refer to that text; each cell"
              " starts with a '# [cell N]' line)" % (notebook, target, converted.cells,
                                                     "" if converted.cells == 1 else "s"))
    removed = []
    if converted.magics:
        removed.append("%d IPython magic%s (%s)" % (len(converted.magics), "" if len(converted.magics) == 1 else "s",
                                                     ", ".join(converted.magics[:3])))
    if converted.shell:
        removed.append("%d shell line%s (%s)" % (len(converted.shell), "" if len(converted.shell) == 1 else "s",
                                                  ", ".join(converted.shell[:3])))
    if removed:
        notice += "; removed " + " and ".join(removed)
    if converted.commented_cells:
        notice += "; not Python, left out: " + ", ".join(converted.commented_cells[:3])
    return notice


def _add_stand_in(snapshot: Snapshot, target: str, notebook: str) -> str:
    """Convert the snapshot's copy of `notebook` into `target` inside the snapshot; the notice
    ("" when the notebook has no code cell at all: then it stands in for nothing)."""
    copy = snapshot.root / notebook
    if not copy.is_file():
        snapshot.files[target] = SourceFile(target, "too_large", detail="%s was not copied (the grader takes files"
                                                                         " up to %d MB)" % (notebook,
                                                                                            MAX_FILE_BYTES >> 20))
        return "%s could not be graded as %s: it was not copied" % (notebook, target)
    try:
        converted = convert_notebook(copy.read_bytes(), notebook)
    except (NotebookError, OSError) as exc:
        snapshot.files[target] = SourceFile(target, "unreadable", detail=str(exc))
        return "%s could not be graded as %s: %s" % (notebook, target, exc)
    if converted.cells == 0:
        return ""  # no code cells: a notebook of Markdown only (a written answer sheet), not code
    source = converted.text.encode("utf-8")
    folder = copy.parent
    os.chmod(folder, 0o755)
    try:
        path = folder / target
        path.write_bytes(source)
        path.chmod(0o444)
    finally:
        os.chmod(folder, 0o555)
    snapshot.files[target] = SourceFile(target, "ok", source=source, detail="from %s" % notebook)
    return notebook_notice(notebook, target, converted)


def take_submission(path: str | os.PathLike[str], expected: list[str], policies: Policies | None = None,
                    documents: tuple[str, ...] = ()) -> Snapshot:
    """The snapshot to grade for the submission at `path`: the folder `locate` chooses, with
    notebooks converted where they stand in for a missing expected file, and notices saying
    so. Errors for a path that is not a folder are the snapshot's own."""
    if not Path(path).is_dir():
        return take_snapshot(path, expected)
    notebooks = notebook_mode(policies)
    intake = locate(path, expected, notebooks, documents)
    snapshot = take_snapshot(intake.folder, expected)
    snapshot.notices[:0] = intake.notices
    if notebooks != "reject":
        for name in expected:
            notebook = notebook_name(name)
            if notebook and snapshot.files[name].status == "missing" and os.path.lexists(intake.folder / notebook):
                notice = _add_stand_in(snapshot, name, notebook)
                if notice:
                    snapshot.notices.append(notice)
    return snapshot


def read_sources(path: str | os.PathLike[str], expected: list[str], notebooks: str = "accept",
                 limit: int = MAX_FILE_BYTES) -> dict[str, str]:
    """The text of each expected file of the submission at `path`, found as grading finds it
    (nested folder, notebooks converted); files missing, unreadable or over `limit` bytes are
    left out. For tools that compare submissions' code (never to run it)."""
    try:
        folder = locate(path, expected, notebooks).folder
    except (SubmissionError, OSError):
        return {}
    texts = {}
    for name in expected:
        file = folder / name
        notebook = notebook_name(name)
        try:
            if file.is_file() and not file.is_symlink() and file.stat().st_size <= limit:
                texts[name] = file.read_bytes().decode("utf-8", errors="replace")
            elif notebooks != "reject" and notebook and (folder / notebook).is_file() \
                    and (folder / notebook).stat().st_size <= limit:
                texts[name] = convert_notebook((folder / notebook).read_bytes(), notebook).text
        except (OSError, NotebookError):
            continue
    return texts
