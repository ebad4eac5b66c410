"""Parts graded without running anything, and parts that stand in for each other.

A document part (`PartInfo(kind="document")`, e.g. HW1's written answer sheet) is a file found
in the submission's snapshot by its patterns; its `PartSpec.grade_document(path, context)`
reads it in the grader's process (never executing anything from it) and returns one
`DocumentVerdict` per check. The engine turns verdicts into `CheckResult`s, and the rubric's
points apply to them as to any check. A part that cannot be graded at all (no file) gets every
check `missing`; an exception while reading becomes an `error` for the part's checks, never a
crash of the report.

The rubric's `alternatives` lists groups of parts that stand in for each other (HW1: the theory
part as `theory.py` or as a written sheet): exactly one of a group counts (settle_alternatives).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.codes import Code, Status
from ..model.results import CheckResult, QuestionResult, format_points
from .assignment import PartInfo
from .checks import CheckSpec, PartSpec
from .compare import Tolerance


@dataclass
class DocumentVerdict:
    """A document part's verdict on one check (`check`: its full id, e.g. "answers.q1_2[grad_W1]").
    `code` is None exactly when `status` is "pass"; `line` is where in the document the answer
    is (1-based) or None; `details` plain JSON data for reports and reviewers."""

    check: str
    status: Status
    code: Code | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


@dataclass(frozen=True)
class DocumentContext:
    """What the engine gives a document part: the assignment's typed settings, the rubric's
    tolerance for the part, the grading seed, and the snapshot folder the document is in."""

    settings: Any
    tolerance: Tolerance
    seed: int
    folder: Path


def document_patterns(info: PartInfo, raw_settings: Mapping[str, Any]) -> tuple[str, ...]:
    """The globs that find `info`'s document: the rubric's own pattern first, then the part's."""
    extra = raw_settings.get(info.pattern_setting) if info.pattern_setting else None
    return ((str(extra),) if isinstance(extra, str) and extra else ()) + info.patterns


def find_document(folder: Path, patterns: tuple[str, ...]) -> Path | None:
    """The first regular file at the top of `folder` matching a pattern (patterns in order, letter
    case ignored, names sorted within a pattern), or None."""
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    except OSError:
        return None
    for pattern in patterns:
        for path in files:
            if fnmatch.fnmatchcase(path.name.lower(), pattern.lower()):
                return path
    return None


def grade_document_part(part: PartSpec, checks: list[CheckSpec], path: Path | None,
                        context: DocumentContext) -> list[CheckResult]:
    """One CheckResult per selected check (scores left at 0 for the engine to allot)."""
    if path is None:
        wanted = ", ".join(sorted({c.question.split(".", 1)[0] for c in checks}))
        message = "the submission has no %s (the %s part's document)" % (part.filename, wanted)
        return [_result(c, "error", "missing", message) for c in checks]
    assert part.grade_document is not None
    try:
        verdicts = {v.check: v for v in part.grade_document(path, context)}
    except Exception as exc:  # noqa: BLE001 - a hostile document must never crash the report: its checks say so
        message = "the grader failed while reading %s (%s: %s); a person must grade it, and please report it" % (
            path.name, type(exc).__name__, str(exc)[:300])
        return [_result(c, "error", "grader_error", message, location={"file": path.name, "line": 1})
                for c in checks]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    results = []
    for check in checks:
        verdict = verdicts.get(check.id)
        if verdict is None:
            results.append(_result(check, "error", "grader_error", "the grader gave no verdict on this check;"
                                   " please report it", location={"file": path.name, "line": 1}))
            continue
        details = dict(verdict.details)
        if verdict.status == "review":
            details["document_sha256"] = digest
        results.append(_result(check, verdict.status, verdict.code, verdict.message, details,
                               {"file": path.name, "line": verdict.line or 1}))
    return results


def _result(check: CheckSpec, status: Status, code: Code | None, message: str,
            details: dict[str, Any] | None = None, location: dict[str, Any] | None = None) -> CheckResult:
    return CheckResult(id=check.id, question=check.question, title=check.title, status=status, score=0.0,
                       max_score=0.0, code=code if status != "pass" else None, message=message,
                       visibility=check.visibility, location=location, details=details or {})


def note_points_at_stake(results: list[CheckResult]) -> None:
    """Review checks carry the points a person decides in their details (`points`)."""
    for result in results:
        if result.status == "review":
            result.details["points"] = result.max_score


def settle_alternatives(questions: list[QuestionResult], present: set[str], alternatives: tuple[tuple[str, ...], ...],
                        filenames: Mapping[str, str]) -> tuple[list[QuestionResult], list[str]]:
    """Of each group of parts that stand in for each other, exactly one counts: the one handed
    in; of several handed in, the one that earned the most (points pending review included;
    the first on a tie), the others kept for information at 0 points; of none, the first (its
    questions `missing`). Parts not handed in that do not count are left out. Returns the
    questions and a notice per decision. `present`: the parts handed in; `filenames`: part ->
    the file graded (or expected)."""
    by_part: dict[str, list[QuestionResult]] = {}
    for question in questions:
        by_part.setdefault(question.id.split(".", 1)[0], []).append(question)

    def earned(part: str) -> float:
        return sum(c.score + (c.max_score if c.status == "review" else 0.0)
                   for q in by_part.get(part, []) for c in q.checks)

    dropped: set[str] = set()
    notices = []
    for group in alternatives:
        handed_in = [p for p in group if p in present]
        points = {p: earned(p) for p in group}
        counting = max(handed_in, key=lambda p: (points[p], -group.index(p))) if handed_in else group[0]
        for part in group:
            if part == counting:
                continue
            if part not in present:
                dropped.add(part)
                if handed_in:
                    notices.append("%s stands in for %s (the rubric's alternatives), which was not handed in" % (
                        filenames.get(counting, counting), filenames.get(part, part)))
                continue
            for question in by_part.get(part, []):
                for check in question.checks:
                    check.score = check.max_score = 0.0
            notices.append("both %s and %s were handed in (the rubric's alternatives): %s counts, with %s points"
                           " against %s; %s is shown for information, at 0 points" % (
                               filenames.get(counting, counting), filenames.get(part, part),
                               filenames.get(counting, counting), format_points(points[counting]),
                               format_points(points[part]), filenames.get(part, part)))
        if not handed_in:
            notices.append("none of %s was handed in: %s is graded as missing" % (
                ", ".join(filenames.get(p, p) for p in group), filenames.get(counting, counting)))
    kept = [q for q in questions if q.id.split(".", 1)[0] not in dropped]
    return kept, notices
