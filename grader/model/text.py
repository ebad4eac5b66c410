"""Text that came from a submission, made safe once for every place a report goes.

A submission controls file names (any bytes but "/" and NUL, not necessarily UTF-8), symlink
targets, exception types and messages, and what it prints. Written as they are, such strings
could forge lines of the grader's own output (a line break then "Score 100 / 100"), run a
GitHub workflow command (a line starting with "::", e.g. `::error` or `::add-mask::`), reorder
what a reader sees (bidi controls), rewrite a terminal (escape sequences) or make a UTF-8
writer raise (lone surrogates from undecodable bytes).

- `clean_line`: one line: line breaks become a visible "\\n", tabs a space, every other
  control, bidi or invisible formatting character U+FFFD, undecodable bytes "\\xNN".
- `clean_text`: the same, but line breaks and tabs are kept (printed output).
- Neither lets a line start a workflow command: every "::" before a name becomes ": :"
  (anywhere, since a format may wrap or fold a line before it; `x[::2]` is left alone).
- `clean_report`: every submission-derived string of a report, cleaned (idempotent); the
  engine applies it to each report it returns, so formats and stderr only see clean text.
"""

from __future__ import annotations

import os
import re
from typing import Any

# C0 controls except tab and newline, DEL, C1 controls; bidi embeddings, overrides and isolates
# (U+202A-202E, U+2066-2069) and marks (U+200E, U+200F, U+061C); zero-width and invisible
# formatting characters; the byte-order mark; line and paragraph separators (handled apart).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
                     "\ufff9-\ufffb]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_COMMAND = re.compile(r"::(?=[A-Za-z_])")
"""A GitHub workflow command's "::name": anywhere, since a report may wrap or fold a line there."""


def _surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    return "\\x%02x" % (code - 0xDC00) if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def clean_text(text: str) -> str:
    """`text` with its line breaks (as "\\n") and tabs kept, and nothing else unsafe."""
    text = _SURROGATE.sub(_surrogate, str(text))
    text = _LINE_BREAKS.sub("\n", text)
    text = _UNSAFE.sub("\ufffd", text)
    return _COMMAND.sub(": :", text)


def clean_line(text: str) -> str:
    """`text` as one safe line (see the module's docstring)."""
    text = _SURROGATE.sub(_surrogate, str(text))
    text = _LINE_BREAKS.sub("\\\\n", text).replace("\t", " ")
    text = _UNSAFE.sub("\ufffd", text)
    return _COMMAND.sub(": :", text)


def clean_name(name: str | bytes | os.PathLike[str] | os.PathLike[bytes]) -> str:
    """A file name or path (bytes, or a str holding undecodable bytes as surrogates) as one safe line."""
    raw = os.fspath(name)
    return clean_line(os.fsdecode(raw) if isinstance(raw, bytes) else raw)


def _clean_data(value: Any, line: bool) -> Any:
    """A JSON-like value with every string (keys too) cleaned."""
    clean = clean_line if line else clean_text
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_line(k) if isinstance(k, str) else k: _clean_data(v, line) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_data(v, line) for v in value]
    return value


def clean_report(report: Any) -> Any:
    """`report` (a GradeReport) with every string that may hold submission data cleaned in
    place: one line each, except printed output and the details' text, which keep their line
    breaks. Returns the report."""
    report.submission = clean_name(report.submission)
    report.notices = [clean_line(n) for n in report.notices]
    if report.error is not None:
        report.error = clean_line(report.error)
    for penalty in report.penalties:
        penalty.reason = clean_line(penalty.reason)
    for question in report.questions:
        question.title = clean_line(question.title)
        for check in question.checks:
            check.title = clean_line(check.title)
            check.message = clean_line(check.message)
            check.notes = [clean_line(n) for n in check.notes]
            check.output = clean_text(check.output)
            if check.replay is not None:
                check.replay = clean_line(check.replay)
            check.counterexample = _clean_data(check.counterexample, True)
            check.location = _clean_data(check.location, True)
            check.details = _clean_data(check.details, False)
    return report
