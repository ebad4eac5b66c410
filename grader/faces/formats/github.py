"""GitHub Actions workflow commands: annotations at the failing student lines and the score.

Every piece of text is encoded so that nothing a submission prints or raises can start a
workflow command of its own."""

from __future__ import annotations

import os
import re

from ...model.results import CheckResult, GradeReport, format_points
from .text import failure_text, pending_text

GITHUB_ANNOTATION_LIMIT = 10

# Characters some readers take as line breaks besides \n and \r; never let them through.
_LINE_BREAKS = re.compile("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def _gh_data(text: str) -> str:
    """Text safe as a workflow command's message: it can never end the line it is on."""
    text = _LINE_BREAKS.sub(" ", text)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


def _gh_path(submission: str, name: str) -> str:
    """`name` inside the submission folder as a path relative to the repository (the workspace)."""
    path = os.path.normpath(os.path.join(submission, name))
    workspace = os.environ.get("GITHUB_WORKSPACE")
    base = os.path.abspath(workspace) if workspace else os.getcwd()
    absolute = os.path.abspath(path)
    if absolute == base or absolute.startswith(base.rstrip(os.sep) + os.sep):
        path = os.path.relpath(absolute, base)
    return path.replace(os.sep, "/")


def _location(check: CheckResult) -> tuple[str, int | None]:
    """Where to annotate: the check's location, else the file its question belongs to."""
    if check.location and check.location.get("file"):
        try:
            return str(check.location["file"]), int(check.location.get("line") or 1)
        except (TypeError, ValueError):
            return str(check.location["file"]), None
    return check.question.split(".", 1)[0] + ".py", None


def render(reports: list[GradeReport]) -> str:
    """`::error` workflow commands at the failing student functions, one per place and kind of
    mistake (the costliest first, at most 10 per submission), and a `::notice` with the score.

    Every piece of text is encoded so that nothing a submission prints or raises can start a
    workflow command of its own."""
    out = []
    for report in reports:
        if report.error:
            out.append("::error title=%s::%s" % (_gh_property("backprop-grader: not graded"), _gh_data(
                "%s could not be graded: %s" % (report.submission, report.error))))
        for notice in report.notices:
            out.append("::notice title=%s::%s" % (_gh_property("backprop-grader"), _gh_data(notice)))
        groups: dict[tuple, list[CheckResult]] = {}
        for check in report.checks:
            if check.status not in ("pass", "review"):
                groups.setdefault(_location(check) + (check.code,), []).append(check)
        ordered = sorted(groups.items(), key=lambda item: -sum(c.max_score for c in item[1]))
        for (filename, line, code), checks in ordered[:GITHUB_ANNOTATION_LIMIT]:
            checks = sorted(checks, key=lambda c: -c.max_score)
            first = checks[0]
            props = ["file=" + _gh_property(_gh_path(report.submission, filename))]
            if line is not None:
                props.append("line=%d" % line)
            if len(checks) == 1:
                title = "%s [%s]" % (first.id, code)
            else:
                questions = list(dict.fromkeys(c.question for c in checks))
                title = "%s: %d checks [%s]" % (", ".join(questions), len(checks), code)
            props.append("title=" + _gh_property(title))
            message = failure_text(first)
            if len(checks) > 1:
                message += "\nchecks failing here: " + ", ".join(c.id for c in checks)
            out.append("::error %s::%s" % (",".join(props), _gh_data(message)))
        if len(ordered) > GITHUB_ANNOTATION_LIMIT:
            hidden = sum(len(checks) for _, checks in ordered[GITHUB_ANNOTATION_LIMIT:])
            out.append("::warning title=%s::%s" % (_gh_property("backprop-grader"), _gh_data(
                "%d more failed checks are not annotated; the job summary lists every one" % hidden)))
        pending = pending_text(report)
        if pending:
            ids = [c.id for c in report.checks if c.status == "review" and c.max_score > 0]
            out.append("::notice title=%s::%s" % (_gh_property("backprop-grader: pending review"), _gh_data(
                "%s: %s%s" % (pending, ", ".join(ids[:10]), ", ..." if len(ids) > 10 else ""))))
        for penalty in report.penalties:
            out.append("::warning title=%s::%s" % (_gh_property("backprop-grader: penalty"), _gh_data(
                "-%s: %s" % (format_points(penalty.points), penalty.reason))))
        out.append("::notice title=%s::%s" % (_gh_property("backprop-grader"), _gh_data(
            "%s: %s / %s" % (report.submission, format_points(report.final_score), format_points(report.max_score)))))
    return "\n".join(out) + "\n"


