"""Find a student's answer sheet in a folder and read its text safely.

Never executes or unpickles anything; every limit exceeded becomes a problem note (and, when
nothing can be read, `human_only`), never an exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .model import DEFAULT_LIMITS, Limits, SheetFormat

SHEET_NAMES = ("theory.md", "theory.tex", "theory.ipynb", "theory.txt")
FORMAT_BY_SUFFIX: dict[str, SheetFormat] = {
    ".md": "md", ".markdown": "md", ".tex": "tex", ".ipynb": "ipynb", ".txt": "txt", ".pdf": "pdf",
}
# base64 images embedded in Markdown or notebooks (Typora, Jupyter attachments): no math in them
_DATA_URI = re.compile(r"data:[A-Za-z]+/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]*")
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


@dataclass
class SourceText:
    """A sheet's text as read: `text` has "\\n" line ends; for a notebook it is the Markdown
    cells joined by a blank line, and `cell_starts[k]` is the 1-based line where cell k begins.
    `human_only`: nothing could be read (PDF, limits): the text is then empty."""

    path: Path
    format: SheetFormat
    text: str = ""
    problems: list[str] = field(default_factory=list)
    human_only: bool = False
    cell_starts: list[int] = field(default_factory=list)


def find_sheet(folder: Path, pattern: str | None = None) -> Path | None:
    """The answer sheet in `folder` (or `folder` itself when it is a file).

    With `pattern` (a glob relative to the folder), the first match in sorted order; else
    theory.md, theory.tex, theory.ipynb, theory.txt (any letter case, in that preference);
    else a PDF (theory.pdf first, then any *.pdf). None when there is nothing.
    """
    if folder.is_file():
        return folder
    if not folder.is_dir():
        return None
    if pattern is not None:
        matches = sorted(p for p in folder.glob(pattern) if p.is_file())
        return matches[0] if matches else None
    by_lower = {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}
    for name in (*SHEET_NAMES, "theory.pdf"):
        if name in by_lower:
            return by_lower[name]
    pdfs = sorted(p for name, p in by_lower.items() if name.endswith(".pdf"))
    return pdfs[0] if pdfs else None


def sheet_format(path: Path) -> SheetFormat | None:
    """The format a file name says, or None for an unknown extension."""
    return FORMAT_BY_SUFFIX.get(path.suffix.lower())


def read_source(path: Path, limits: Limits = DEFAULT_LIMITS) -> SourceText:
    """Read the sheet at `path` within `limits`: decoded text, or human_only with the reason."""
    fmt = sheet_format(path) or "txt"
    source = SourceText(path=path, format=fmt)
    if fmt == "pdf":
        return _refuse(source, f"{path.name} is a PDF: it carries no reliable math source, so a human must grade"
                       " the written answers")
    if path.is_symlink():
        return _refuse(source, f"{path.name} is a symbolic link: not followed")
    byte_limit = limits.max_notebook_bytes if fmt == "ipynb" else limits.max_file_bytes
    try:
        size = path.stat().st_size
        if size > byte_limit:
            return _refuse(source, f"{path.name} is {_size(size)}, over the {_size(byte_limit)} limit for a sheet:"
                           " not read")
        with path.open("rb") as handle:
            raw = handle.read(byte_limit + 1)
    except OSError as error:
        return _refuse(source, f"{path.name} could not be read ({error.strerror or error})")
    if len(raw) > byte_limit:
        return _refuse(source, f"{path.name} is over the {_size(byte_limit)} limit for a sheet: not read")
    text = _decode(raw, path.name, source.problems)
    if fmt == "ipynb":
        text = _notebook_markdown(text, source, limits)
        if source.human_only:
            return source
    text = _DATA_URI.sub("data:,", text)
    if len(text) > limits.max_text_chars:
        return _refuse(source, f"{path.name} has {len(text)} characters of text, over the {limits.max_text_chars}"
                       " limit: not read")
    if not text.strip() and fmt != "ipynb":
        source.problems.append(f"{path.name} is empty")
    source.text = text
    return source


def _refuse(source: SourceText, reason: str) -> SourceText:
    source.problems.append(reason)
    source.human_only = True
    source.text = ""
    return source


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n} bytes"


def _decode(raw: bytes, name: str, problems: list[str]) -> str:
    """UTF-8 (BOM dropped; UTF-16 when it starts with a UTF-16 BOM); invalid bytes replaced by
    U+FFFD and reported. Line ends become "\\n"; NUL characters become U+FFFD."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    else:
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            text = raw.decode("utf-8", errors="replace")
            problems.append(f"{name} is not valid UTF-8 (first bad byte at offset {error.start}):"
                            f" {text.count(chr(0xfffd))} undecodable byte sequence(s) were replaced by \ufffd")
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "\ufffd")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """True when the JSON text nests arrays/objects deeper than `limit` (strings skipped)."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > limit:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _notebook_markdown(text: str, source: SourceText, limits: Limits) -> str:
    """The Markdown cells of a notebook's JSON, joined by a blank line (cell_starts filled)."""
    name = source.path.name
    if json_depth_exceeds(text, limits.max_json_depth):
        _refuse(source, f"{name} nests its JSON deeper than {limits.max_json_depth} levels: not read")
        return ""
    try:
        notebook = json.loads(text)
    except (ValueError, RecursionError) as error:
        _refuse(source, f"{name} is not a valid notebook (JSON error: {str(error)[:120]})")
        return ""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        _refuse(source, f"{name} has no list of cells: not a Jupyter notebook")
        return ""
    parts: list[str] = []
    line = 1
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "markdown":
            continue
        body = cell.get("source", "")
        if isinstance(body, list):
            body = "".join(piece for piece in body if isinstance(piece, str))
        if not isinstance(body, str):
            continue
        body = body.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
        source.cell_starts.append(line)
        parts.append(body)
        line += body.count("\n") + 2
    if not parts:
        source.problems.append(f"{name} has no Markdown cells: no written answers found")
    return "\n\n".join(parts)
