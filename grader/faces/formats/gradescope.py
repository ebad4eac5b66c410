"""Gradescope's results.json, per its autograder specification (one submission).

Everything is plain text: student text (messages, prints) is never read as HTML or Markdown."""

from __future__ import annotations

import json
from typing import Any

from ...model.results import GradeReport, format_points
from .text import failure_text, pending_text

GRADESCOPE_VISIBILITY = {"visible": "visible", "hidden": "hidden", "after_due_date": "after_due_date",
                         "after_published": "after_published"}


def gradescope_results(report: GradeReport) -> dict[str, Any]:
    """results.json per Gradescope's autograder specification; the score is the final one."""
    tests = []
    for number, check in enumerate(report.checks, start=1):
        test: dict[str, Any] = {
            "name": check.id,
            "number": str(number),
            "score": round(check.score, 4),
            "max_score": round(check.max_score, 4),
            "status": "passed" if check.status == "pass" else "failed",
            "output": check.title if check.status == "pass" else failure_text(check),
            "visibility": GRADESCOPE_VISIBILITY.get(check.visibility, "visible"),
            "tags": [check.question] + ([check.code] if check.code else []),
        }
        if check.status == "review":  # neither passed nor failed: the course staff decides
            del test["status"]
            test["output"] = "Pending review by the course staff.\n" + test["output"]
            test["tags"].append("pending_review")
        tests.append(test)
    lines = ["Score %s / %s (grading seed %d, sandbox %s)." % (
        format_points(report.score), format_points(report.max_score), report.seed, report.sandbox)]
    for penalty in report.penalties:
        lines.append("Penalty -%s: %s" % (format_points(penalty.points), penalty.reason))
    if report.penalties:
        lines.append("Final score %s (raw %s)." % (format_points(report.final_score), format_points(report.score)))
    pending = pending_text(report)
    if pending:
        lines.append(pending.split(" (")[0] + ": the score above counts only what is graded; the course staff decides"
                     " the rest.")
    lines += report.notices
    if report.error:
        lines.append("The grader could not grade this submission: %s" % report.error)
    return {
        "score": round(report.final_score, 4),
        "execution_time": round(report.duration_s, 3),
        "output": "\n".join(lines),
        # Plain text everywhere: student text (messages, prints) must never be read as HTML or Markdown.
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": "hidden",
        "visibility": "visible",
        "extra_data": {"raw_score": round(report.score, 4), "max_score": round(report.max_score, 4),
                       "pending_review": round(report.pending_review, 4),
                       "final_score": round(report.final_score, 4),
                       "penalties": [p.to_json() for p in report.penalties], "not_run": report.not_run,
                       "error": report.error, "grader_version": report.grader_version},
        "tests": tests,
    }


def render(reports: list[GradeReport]) -> str:
    return json.dumps(gradescope_results(reports[0]), indent=2) + "\n"


