"""Plain-text pieces every report format shares."""

from __future__ import annotations

from ...model.results import CheckResult, GradeReport, format_points


def answer_lines(check: CheckResult) -> list[str]:
    """For a written answer that did not pass (its details): the answer as read, rendered back
    in LaTeX, and the expected one in the sheet's notation, each with its shape; for a check
    pending review, the extracted snippet and the points at stake. Empty for other checks."""
    details = check.details
    if check.status == "pass" or not details:
        return []
    lines = []
    snippet = details.get("snippet") if isinstance(details.get("snippet"), dict) else None
    where = " (line %s)" % snippet["line"] if snippet and snippet.get("line") else ""
    if details.get("got_latex"):
        shape = " %s" % details["got_shape"] if details.get("got_shape") else ""
        lines.append("yours%s: %s%s" % (where, details["got_latex"], shape))
    elif snippet and snippet.get("text"):
        text = " ".join(str(snippet["text"]).split())
        lines.append("answer%s: %s" % (where, text[:300] + (" ..." if len(text) > 300 else "")))
    if details.get("expected_latex"):
        shape = " %s" % details["expected_shape"] if details.get("expected_shape") else ""
        lines.append("expected: %s%s" % (details["expected_latex"], shape))
    if check.status == "review":
        lines.append("pending review: %s points for a person to decide (grader review)" % format_points(
            check.max_score))
    return lines


def failure_text(check: CheckResult) -> str:
    """A failed check's diagnosis, the written answer against the expected one, the replay
    command and (bounded) student output, as plain text."""
    lines = ["[%s] %s" % (check.code, check.full_message)]
    lines += answer_lines(check)
    if check.replay:
        lines.append("replay: %s" % check.replay)
    if check.output.strip():
        lines.append("printed by the submission:\n%s" % check.output.strip()[:1000])
    return "\n".join(lines)


def pending_text(report: GradeReport) -> str:
    """"N points pending review (k checks)", or "" when nothing is pending."""
    pending = [c for c in report.checks if c.status == "review" and c.max_score > 0]
    if not pending:
        return ""
    return "%s points pending review (%d check%s a person decides: grader review)" % (
        format_points(report.pending_review), len(pending), "" if len(pending) == 1 else "s")
