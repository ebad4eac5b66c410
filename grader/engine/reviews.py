"""Reviewers' decisions on checks the grader leaves to a person (status "review").

A decision is kept in a TOML file (default name `reviews.toml`), one `[[decision]]` table each:
the check id, the reviewer's `status` ("pass" or "fail"), the `points` awarded, an optional
`comment`, when it was decided, and what it was decided on: the submission's folder name, the
SHA-256 of the document graded and of the answer's snippet. `apply_decisions(report, ...)`
settles every pending check of a report that a decision matches: same check id, same snippet,
and the same document or the same submission folder, so that an edited answer asks again while
a folder graded from another path, or a sheet edited elsewhere, keeps its decisions. The last
matching decision in the file wins. Nothing here runs or imports anything heavy.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..model.results import CheckResult, GradeReport, format_points

DECISIONS_FILE = "reviews.toml"
HEADER = """\
# backprop-grader: reviewers' decisions on the checks the grader leaves to a person.
# `grader review` writes this file; `grader grade --decisions FILE` applies it. A decision
# holds for the same check, the same answer (snippet_sha256), and the same sheet
# (document_sha256) or the same submission folder; an edited answer is asked again.
"""


@dataclass
class Decision:
    """One reviewer's decision. `points` is what the check earns (0 .. its maximum)."""

    check: str
    status: str
    points: float
    submission: str
    document_sha256: str
    snippet_sha256: str
    comment: str = ""
    decided_at: str = ""

    def to_toml(self) -> str:
        fields = [("submission", self.submission), ("check", self.check), ("status", self.status),
                  ("points", self.points), ("comment", self.comment), ("decided_at", self.decided_at),
                  ("document_sha256", self.document_sha256), ("snippet_sha256", self.snippet_sha256)]
        return "[[decision]]\n" + "".join("%s = %s\n" % (key, _toml_value(value)) for key, value in fields)


def _toml_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    # a JSON string is a TOML basic string once DEL is escaped too
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def submission_name(report: GradeReport) -> str:
    """The submission's folder name (the same wherever the class folder is graded from)."""
    return Path(report.submission.rstrip("/\\")).name or report.submission


def snippet_digest(check: CheckResult) -> str:
    """SHA-256 of the answer a check was decided on: its details' snippet text, and the claim
    that carried it over when there is one ("" when there is neither)."""
    texts = []
    for key in ("snippet", "claim"):
        part = check.details.get(key)
        texts.append(str(part.get("text", "")) if isinstance(part, dict) else "")
    text = texts[0] if not texts[1] else "%s\n%s" % tuple(texts)
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


def pending(report: GradeReport) -> list[CheckResult]:
    """The checks of `report` a person must still decide (with points at stake)."""
    return [c for c in report.checks if c.status == "review" and c.max_score > 0]


def decide(report: GradeReport, check: CheckResult, value: str, comment: str = "",
           now: datetime | None = None) -> Decision:
    """A decision on a pending `check` from `value`: "pass" (all its points), "fail" (none) or
    a number of points; UsageError for anything else or for points outside 0 .. its maximum."""
    text = value.strip().lower()
    if text in ("pass", "p"):
        status, points = "pass", check.max_score
    elif text in ("fail", "f"):
        status, points = "fail", 0.0
    else:
        try:
            points = float(text)
        except ValueError:
            raise UsageError("a decision is pass, fail or a number of points, not %r" % value) from None
        if not 0.0 <= points <= check.max_score + 1e-9:
            raise UsageError("%s is worth %s points: %r is out of range" % (
                check.id, format_points(check.max_score), value))
        points = min(points, check.max_score)
        status = "pass" if points >= check.max_score else "fail"
    when = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    return Decision(check=check.id, status=status, points=float(points), submission=submission_name(report),
                    document_sha256=str(check.details.get("document_sha256", "")),
                    snippet_sha256=snippet_digest(check), comment=comment.strip(), decided_at=when)


def load_decisions(path: Path) -> list[Decision]:
    """The decisions in `path` ([] when it does not exist); UsageError when it is malformed."""
    if not path.exists():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        decisions = [Decision(check=str(d["check"]), status=str(d["status"]), points=float(d["points"]),
                              submission=str(d.get("submission", "")),
                              document_sha256=str(d.get("document_sha256", "")),
                              snippet_sha256=str(d["snippet_sha256"]), comment=str(d.get("comment", "")),
                              decided_at=str(d.get("decided_at", "")))
                     for d in data.get("decision", [])]
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError,
            AttributeError) as exc:
        raise UsageError("the decisions file %s cannot be read (%s)" % (path, exc)) from None
    for decision in decisions:
        if decision.status not in ("pass", "fail") or decision.points < 0:
            raise UsageError("the decisions file %s has an invalid decision for %s" % (path, decision.check))
    return decisions


def save_decisions(path: Path, decisions: list[Decision]) -> None:
    """Write `decisions` to `path` atomically (a reader never sees half a file)."""
    text = HEADER + "".join("\n" + d.to_toml() for d in decisions)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".%s." % path.name)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, path)


def record(decisions: list[Decision], decision: Decision) -> list[Decision]:
    """`decisions` with `decision` replacing any earlier one on the same answer."""
    same = (decision.check, decision.snippet_sha256, decision.document_sha256, decision.submission)
    return [d for d in decisions if (d.check, d.snippet_sha256, d.document_sha256, d.submission) != same] + [decision]


def find_decision(decisions: list[Decision], report: GradeReport, check: CheckResult) -> Decision | None:
    """The last decision that holds for `check` of `report` (see the module docstring), or None."""
    digest, name = snippet_digest(check), submission_name(report)
    document = str(check.details.get("document_sha256", ""))
    found = None
    for decision in decisions:
        if decision.check == check.id and decision.snippet_sha256 == digest and (
                (document and decision.document_sha256 == document) or decision.submission == name):
            found = decision
    return found


def apply_decisions(report: GradeReport, decisions: list[Decision]) -> int:
    """Settle the pending checks of `report` that a decision holds for; returns how many."""
    applied = 0
    for check in pending(report):
        decision = find_decision(decisions, report, check)
        if decision is None:
            continue
        check.status = "pass" if decision.status == "pass" else "fail"
        check.score = min(decision.points, check.max_score)
        check.code = None if check.status == "pass" else check.code
        comment = ": %s" % decision.comment if decision.comment else ""
        check.notes.append("Decided by a reviewer (%s of %s points, %s)%s." % (
            format_points(check.score), format_points(check.max_score), decision.decided_at[:10] or "undated",
            comment))
        check.details["decision"] = {"status": decision.status, "points": check.score, "comment": decision.comment,
                                     "decided_at": decision.decided_at}
        applied += 1
    return applied
